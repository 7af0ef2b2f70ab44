package dev.funnel.registry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The console's live figures, read from this process's meters: tunnels open, tunnels set up per
 * second, and refusals by reason over the last minute. The meters are the ones Prometheus scrapes
 * (names in the module READMEs), so the console and a dashboard agree.
 *
 * <p>Tunnels and refusals are the frontend's ({@code funnel_tunnels_active{role="frontend"}},
 * {@code funnel_tunnel_setup_seconds_count{role="frontend"}}, {@code
 * funnel_frontend_connections_total{outcome}}) when a frontend runs in this process ({@code funnel
 * server}, the demo). A registry on its own ({@code funnel registry}) has no frontend meters: it
 * shows refusals at resolve ({@code funnel_registry_resolves_total{result}}) and no tunnel figures.
 *
 * <p>{@link #record} keeps samples for {@link #MINUTE_NANOS} (one every {@link #SAMPLE_MILLIS});
 * {@link #compute} is a pure function of the history and a sample taken now. Not thread-safe: used
 * on the admin API's event loop only.
 */
final class ConsoleFigures {

  /** How often the verticle records a sample. */
  static final long SAMPLE_MILLIS = 2_000;
  /** Rates are over (up to) this long. */
  static final long RATE_WINDOW_NANOS = 10_000_000_000L;
  /** Refusals are over (up to) this long. */
  static final long MINUTE_NANOS = 60_000_000_000L;

  /** Frontend outcomes that are not refusals. */
  static final Set<String> NOT_REFUSED = Set.of("routed", "client_closed");
  static final String SOURCE_FRONTEND = "frontend";
  static final String SOURCE_REGISTRY = "registry";

  /**
   * What the meters said at {@code nanos}. {@code tunnelsOpen} and {@code tunnelSetups} are null
   * without a frontend in this process; {@code refusals} are counters since start, by reason.
   */
  record Sample(long nanos, Double tunnelsOpen, Double tunnelSetups, Map<String, Double> refusals, String source) {
    Sample {
      refusals = Map.copyOf(refusals);
    }
  }

  /**
   * The figures shown. {@code tunnelsPerSecond} is null until two samples at least a second apart
   * exist (or without a frontend); {@code refusals} holds only reasons with refusals in the last
   * {@code refusalSeconds} seconds, sorted by reason.
   */
  record Figures(Double tunnelsOpen, Double tunnelsPerSecond, Map<String, Long> refusals, long refusalSeconds,
                 String source) {
  }

  private final ArrayDeque<Sample> history = new ArrayDeque<>();
  private final MeterRegistry registry;
  private final LongSupplier nanoClock;

  ConsoleFigures(MeterRegistry registry, LongSupplier nanoClock) {
    this.registry = registry;
    this.nanoClock = nanoClock;
  }

  /** Reads the meters now. */
  Sample read() {
    long now = nanoClock.getAsLong();
    Gauge open = registry.find("funnel.tunnels.active").tag("role", SOURCE_FRONTEND).gauge();
    Timer setup = registry.find("funnel.tunnel.setup").tag("role", SOURCE_FRONTEND).timer();
    Collection<Counter> frontend = registry.find("funnel.frontend.connections").counters();
    if (!frontend.isEmpty()) {
      return new Sample(now, open == null ? null : open.value(), setup == null ? null : (double) setup.count(),
          byTag(frontend, "outcome"), SOURCE_FRONTEND);
    }
    Map<String, Double> resolves = byTag(registry.find("funnel.registry.resolves").counters(), "result");
    resolves.remove("found");
    return new Sample(now, open == null ? null : open.value(), setup == null ? null : (double) setup.count(),
        resolves, SOURCE_REGISTRY);
  }

  /** Keeps a sample taken now for later rates; forgets samples older than a minute. */
  void record() {
    Sample s = read();
    history.addLast(s);
    while (!history.isEmpty() && s.nanos() - history.peekFirst().nanos() > MINUTE_NANOS) {
      history.removeFirst();
    }
  }

  /** The figures now. */
  Figures now() {
    return compute(List.copyOf(history), read());
  }

  /** The figures at {@code now}, given the earlier samples {@code history} (oldest first). */
  static Figures compute(List<Sample> history, Sample now) {
    Sample rateBase = oldestWithin(history, now, RATE_WINDOW_NANOS);
    Double perSecond = null;
    // Meters are registered on first use, from zero: one missing in an older sample counted zero then.
    if (rateBase != null && now.tunnelSetups() != null && now.nanos() - rateBase.nanos() >= 1_000_000_000L) {
      double base = rateBase.tunnelSetups() == null ? 0 : rateBase.tunnelSetups();
      perSecond = Math.max(0, now.tunnelSetups() - base) * 1e9 / (now.nanos() - rateBase.nanos());
    }
    Sample minuteBase = oldestWithin(history, now, MINUTE_NANOS);
    Map<String, Long> refusals = new TreeMap<>();
    long seconds = 0;
    if (minuteBase != null) {
      seconds = Math.round((now.nanos() - minuteBase.nanos()) / 1e9);
      // A base read before the frontend's first connection (so from the registry's meters) is all zero.
      Map<String, Double> base = minuteBase.source().equals(now.source()) ? minuteBase.refusals() : Map.of();
      for (Map.Entry<String, Double> e : now.refusals().entrySet()) {
        if (NOT_REFUSED.contains(e.getKey()) && now.source().equals(SOURCE_FRONTEND)) {
          continue;
        }
        long delta = Math.round(e.getValue() - base.getOrDefault(e.getKey(), 0.0));
        if (delta > 0) {
          refusals.put(e.getKey(), delta);
        }
      }
    }
    return new Figures(now.tunnelsOpen(), perSecond, refusals, seconds, now.source());
  }

  private static Sample oldestWithin(List<Sample> history, Sample now, long windowNanos) {
    for (Sample s : history) {
      if (now.nanos() - s.nanos() <= windowNanos && s.nanos() < now.nanos()) {
        return s;
      }
    }
    return null;
  }

  private static Map<String, Double> byTag(Collection<Counter> counters, String tag) {
    Map<String, Double> out = new TreeMap<>();
    for (Counter c : counters) {
      String value = c.getId().getTag(tag);
      if (value != null) {
        out.merge(value, c.count(), Double::sum);
      }
    }
    return out;
  }
}
