package dev.funnel.common.ops;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.MemberStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Publishes a service's {@link MemberStats} on {@link Addresses#MEMBER_STATS}: once at once, then
 * every {@link MemberStats#PERIOD_MILLIS}, until {@link #stop()}. One small message per process and
 * period, whatever the traffic; the figures are read from the service's own meters.
 */
public final class StatsPublisher {

  private final Vertx vertx;
  private final Supplier<MemberStats> stats;
  private long timer = -1;

  private StatsPublisher(Vertx vertx, Supplier<MemberStats> stats) {
    this.vertx = vertx;
    this.stats = stats;
  }

  /** Starts publishing; call from the service's verticle once it serves. */
  public static StatsPublisher start(Vertx vertx, Supplier<MemberStats> stats) {
    StatsPublisher publisher = new StatsPublisher(vertx, stats);
    publisher.publish();
    publisher.timer = vertx.setPeriodic(MemberStats.PERIOD_MILLIS, id -> publisher.publish());
    return publisher;
  }

  private void publish() {
    vertx.eventBus().publish(Addresses.MEMBER_STATS, stats.get());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  /** Sum of counter {@code name} per value of {@code tag} (values in {@code skip} left out). */
  public static Map<String, Long> countsBy(MeterRegistry registry, String name, String tag, java.util.Set<String> skip) {
    Map<String, Long> out = new TreeMap<>();
    for (Meter meter : registry.find(name).meters()) {
      String value = meter.getId().getTag(tag);
      if (value == null || skip.contains(value)) {
        continue;
      }
      double count = meter instanceof Counter c ? c.count() : meter instanceof FunctionCounter f ? f.count() : 0;
      out.merge(value, Math.round(count), Long::sum);
    }
    return out;
  }

  /** Value of gauge {@code name} with {@code tag=value}, 0 when there is none. */
  public static long gauge(MeterRegistry registry, String name, String tag, String value) {
    Gauge gauge = registry.find(name).tag(tag, value).gauge();
    return gauge == null ? 0 : Math.round(gauge.value());
  }
}
