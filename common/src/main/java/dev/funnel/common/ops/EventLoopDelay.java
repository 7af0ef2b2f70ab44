package dev.funnel.common.ops;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * How long a ready task waits for its event loop: a timer is set every {@link #PERIOD_MILLIS} and
 * the time it fires after its due time is recorded as {@code funnel_eventloop_delay_seconds}. An
 * idle or healthy loop shows well under a millisecond; a loop blocked by a long task shows the
 * whole block. {@link OpsVerticle} deploys one instance per Vert.x event loop (deployments take
 * loops round-robin): {@code plane="control"}; {@link DataLoopDelay} probes the data plane's loops
 * the same way ({@code plane="data"}).
 *
 * <p>Vert.x's own metrics cover worker pools, the event bus and sockets, not the event loops.
 */
final class EventLoopDelay extends VerticleBase {

  static final long PERIOD_MILLIS = 100;

  private final MeterRegistry registry;
  private Timer delay;
  private long timer = -1;
  private boolean stopped;

  EventLoopDelay(MeterRegistry registry) {
    this.registry = registry;
  }

  static Timer meter(MeterRegistry registry, String plane) {
    return Timer.builder("funnel.eventloop.delay")
        .description("How late a timer fires on an event loop: time a ready task waits because the loop is busy")
        .tag("plane", plane)
        .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5))
        .register(registry);
  }

  @Override
  public Future<?> start() {
    delay = meter(registry, "control");
    schedule();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    return Future.succeededFuture();
  }

  private void schedule() {
    if (stopped) {
      return;
    }
    long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
    timer = vertx.setTimer(PERIOD_MILLIS, id -> {
      delay.record(Math.max(0, System.nanoTime() - due), TimeUnit.NANOSECONDS);
      schedule();
    });
  }
}
