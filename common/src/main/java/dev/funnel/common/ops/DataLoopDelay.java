package dev.funnel.common.ops;

import dev.funnel.common.net.DataPlane;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.TimeUnit;

/**
 * {@link EventLoopDelay} for the data plane's Netty loops ({@link DataPlane}), where every byte of
 * every tunnel moves: a task scheduled every {@link EventLoopDelay#PERIOD_MILLIS} on each loop
 * records how late it runs, as {@code funnel_eventloop_delay_seconds{plane="data"}}. The probes
 * start when the process first makes its data plane (a registry never does, and gets none) and
 * stop with {@link #stop()}; they never make the group themselves.
 */
final class DataLoopDelay {

  private final Timer delay;
  private volatile boolean stopped;

  DataLoopDelay(MeterRegistry registry) {
    this.delay = EventLoopDelay.meter(registry, "data");
  }

  void start() {
    DataPlane.whenMade(this::probe);
  }

  void stop() {
    stopped = true;
  }

  private void probe(EventLoopGroup group) {
    for (EventExecutor loop : group) {
      schedule(loop);
    }
  }

  private void schedule(EventExecutor loop) {
    if (stopped || loop.isShuttingDown()) {
      return;
    }
    long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EventLoopDelay.PERIOD_MILLIS);
    loop.schedule(() -> {
      delay.record(Math.max(0, System.nanoTime() - due), TimeUnit.NANOSECONDS);
      schedule(loop);
    }, EventLoopDelay.PERIOD_MILLIS, TimeUnit.MILLISECONDS);
  }
}
