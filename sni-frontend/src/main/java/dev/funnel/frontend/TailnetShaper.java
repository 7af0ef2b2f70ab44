package dev.funnel.frontend;

import dev.funnel.common.net.Pacer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The per-tailnet bandwidth cap ({@code FrontendOptions.tailnetBytesPerSecond}): all tunnels of one
 * tailnet share one byte budget per direction, a token bucket refilled at the cap and holding one
 * second of it. A tunnel that overdraws it has its source paused (through {@link Pacer} in
 * {@code Splice}'s copy loop) until the debt is paid back: shaping, never dropping; TCP flow control
 * slows the sender meanwhile. The time sources spent paused is counted in
 * {@code funnel_frontend_shaped_seconds_total{direction}} (never by tailnet: unbounded).
 *
 * <p>Memory is bounded: only tailnets that resolved to a route get a budget, and at most
 * {@link #MAX_TAILNETS} are kept (the least recently used one is forgotten, which only refills it).
 * Thread-safe: one lock per budget, taken once per chunk read.
 */
final class TailnetShaper {

  static final int MAX_TAILNETS = 10_000;

  private final long bytesPerSecond;
  private final LongSupplier nanoClock;
  private final Counter inboundWait;
  private final Counter outboundWait;
  private final Map<String, Budget[]> budgets = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Budget[]> eldest) {
      return size() > MAX_TAILNETS;
    }
  };

  /** @param bytesPerSecond the cap each way per tailnet; 0 or less: unlimited (every pacer is {@link Pacer#NONE}) */
  TailnetShaper(long bytesPerSecond, MeterRegistry registry, LongSupplier nanoClock) {
    this.bytesPerSecond = bytesPerSecond;
    this.nanoClock = nanoClock;
    this.inboundWait = counter(registry, "inbound");
    this.outboundWait = counter(registry, "outbound");
  }

  private static Counter counter(MeterRegistry registry, String direction) {
    return Counter.builder("funnel.frontend.shaped")
        .description("Time tunnel sources were paused by the per-tailnet bandwidth cap; inbound is client to node")
        .baseUnit("seconds")
        .tag("direction", direction)
        .register(registry);
  }

  /** The pacers of one tunnel of {@code tailnet}: {@code [inbound (client → node), outbound]}. */
  synchronized Pacer[] pacers(String tailnet) {
    if (bytesPerSecond <= 0) {
      return new Pacer[] {Pacer.NONE, Pacer.NONE};
    }
    Budget[] pair = budgets.computeIfAbsent(tailnet,
        t -> new Budget[] {new Budget(inboundWait), new Budget(outboundWait)});
    return new Pacer[] {pair[0], pair[1]};
  }

  /** One direction of one tailnet: bytes in hand, refilled at the cap, at most one second's worth; may go into debt. */
  private final class Budget implements Pacer {
    private final Counter waited;
    private double bytes = bytesPerSecond;
    private long refilledNanos = nanoClock.getAsLong();

    Budget(Counter waited) {
      this.waited = waited;
    }

    @Override
    public synchronized long delayNanos(long sent) {
      long now = nanoClock.getAsLong();
      bytes = Math.min(bytesPerSecond, bytes + (now - refilledNanos) / 1e9 * bytesPerSecond);
      refilledNanos = now;
      bytes -= sent;
      if (bytes >= 0) {
        return 0;
      }
      long wait = (long) Math.ceil(-bytes / bytesPerSecond * 1e9);
      waited.increment(wait / 1e9);
      return wait;
    }
  }
}
