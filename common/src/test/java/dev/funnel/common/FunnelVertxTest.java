package dev.funnel.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FunnelVertxTest {

  @Test
  void aNodeRunsItsBlockingWorkOnABoundedPool() throws Exception {
    Vertx vertx = FunnelVertx.node();
    try {
      Set<String> threads = ConcurrentHashMap.newKeySet();
      CountDownLatch release = new CountDownLatch(1);
      List<Future<Void>> tasks = new ArrayList<>();
      for (int i = 0; i < 3 * FunnelVertx.NODE_WORKER_THREADS; i++) {
        tasks.add(vertx.executeBlocking(() -> {
          threads.add(Thread.currentThread().getName());
          release.await(10, TimeUnit.SECONDS);
          return null;
        }, false));
      }
      // Bounded wait for the pool to fill; more tasks than threads, so some stay queued.
      for (int i = 0; i < 100 && threads.size() < FunnelVertx.NODE_WORKER_THREADS; i++) {
        Thread.sleep(20);
      }
      release.countDown();
      Future.all(tasks).await(20, TimeUnit.SECONDS);
      assertThat(threads).hasSize(FunnelVertx.NODE_WORKER_THREADS);
    } finally {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void aNodeHasFewerBlockingThreadsThanTheServer() {
    assertThat(FunnelVertx.nodeOptions().getWorkerPoolSize()).isEqualTo(FunnelVertx.NODE_WORKER_THREADS);
    assertThat(FunnelVertx.nodeOptions().getInternalBlockingPoolSize())
        .isEqualTo(FunnelVertx.NODE_INTERNAL_BLOCKING_THREADS)
        .isLessThan(FunnelVertx.options().getInternalBlockingPoolSize());
    assertThat(FunnelVertx.nodeOptions().getWorkerPoolSize()).isLessThan(FunnelVertx.options().getWorkerPoolSize());
  }

  @Test
  void aNodeThatExportsNoMetricsKeepsNoJvmMeters() throws Exception {
    for (boolean exported : new boolean[] {false, true}) {
      Vertx vertx = FunnelVertx.node(exported);
      try {
        io.micrometer.core.instrument.MeterRegistry registry =
            io.vertx.micrometer.backends.BackendRegistries.getDefaultNow();
        List<String> jvm = registry.getMeters().stream().map(m -> m.getId().getName())
            .filter(name -> name.startsWith("jvm.")).toList();
        if (exported) {
          assertThat(jvm).as("with --metrics-listen").contains("jvm.memory.used");
        } else {
          assertThat(jvm).as("without --metrics-listen").isEmpty();
        }
      } finally {
        vertx.close().await(20, TimeUnit.SECONDS);
      }
    }
  }
}
