package dev.funnel.common.ops;

import dev.funnel.common.net.DataPlane;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The meters several modules register under one name: the tunnel's setup time, bytes and count,
 * tagged with the {@code role} that observed them. In one JVM (the server, the demo) the frontend,
 * gateway and node all register these names on one Prometheus registry, and Prometheus needs every
 * meter of one name to have the same tag keys and the same kind: a second set of tag keys is
 * dropped with a warning, and a timer without a histogram next to one with a histogram breaks
 * every scrape of the process ({@code ClassCastException} in the text writer). So they are built
 * here, once, and modules only pick their role.
 *
 * <p>Labels are bounded: {@code role} is one of the {@code ROLE_*} constants, {@code direction}
 * {@link #INBOUND} or {@link #OUTBOUND}. Never a client address, an SNI name or a node name.
 */
public final class Meters {

  public static final String ROLE_FRONTEND = "frontend";
  public static final String ROLE_GATEWAY = "gateway";
  public static final String ROLE_NODE = "node";

  /** Public client towards the node's local target. */
  public static final String INBOUND = "inbound";
  /** The node's local target back towards the public client. */
  public static final String OUTBOUND = "outbound";

  /** Setup histograms cover 1 ms … 30 s: above the frontend's resolve (3 s) and open (12 s) bounds together. */
  public static final Duration SETUP_MIN = Duration.ofMillis(1);
  public static final Duration SETUP_MAX = Duration.ofSeconds(30);

  /** One active-tunnel count per registry and role, so several verticles in one JVM add up instead of hiding each other. */
  private static final Map<MeterRegistry, Map<String, AtomicInteger>> ACTIVE = new WeakHashMap<>();

  private Meters() {
  }

  /** Vert.x's default Micrometer registry; a private in-memory one when metrics are off (tests). */
  public static MeterRegistry registry() {
    return orPrivate(BackendRegistries.getDefaultNow());
  }

  /** {@code registry}, or a private in-memory one when it is null. */
  public static MeterRegistry orPrivate(MeterRegistry registry) {
    return registry != null ? registry : new SimpleMeterRegistry();
  }

  /**
   * {@code funnel_tunnel_setup_seconds{role}}: a histogram. What "setup" spans depends on the role:
   * the frontend measures a whole ClientHello → the node's stream handed over; the gateway, the
   * ingress offer's stream opened → the node's 200 read.
   */
  public static Timer tunnelSetup(MeterRegistry registry, String role) {
    return Timer.builder("funnel.tunnel.setup")
        .description("Tunnel setup time as seen by role: frontend = whole ClientHello to node stream, "
            + "gateway = ingress offer to the node's 200")
        .tag("role", role)
        .publishPercentileHistogram()
        .minimumExpectedValue(SETUP_MIN)
        .maximumExpectedValue(SETUP_MAX)
        .register(registry);
  }

  /**
   * {@code funnel_tunnel_bytes_total{direction,role}}: bytes a role carried, counted when a tunnel
   * ends; {@code direction} is {@link #INBOUND} (client → node) or {@link #OUTBOUND}.
   */
  public static Counter tunnelBytes(MeterRegistry registry, String role, String direction) {
    return Counter.builder("funnel.tunnel.bytes")
        .description("Bytes carried by tunnels, counted as they pass; inbound is public client to node")
        .baseUnit("bytes")
        .tag("direction", direction)
        .tag("role", role)
        .register(registry);
  }

  /**
   * {@code funnel_tunnels_active{role}}: the count behind the gauge, shared by every caller with the
   * same registry and role (increment on open, decrement on close).
   */
  public static AtomicInteger tunnelsActive(MeterRegistry registry, String role) {
    synchronized (ACTIVE) {
      return ACTIVE.computeIfAbsent(registry, r -> new HashMap<>()).computeIfAbsent(role, rl -> {
        AtomicInteger count = new AtomicInteger();
        Gauge.builder("funnel.tunnels.active", count, AtomicInteger::get)
            .description("Tunnels open right now, by the role that holds them")
            .tag("role", rl)
            .strongReference(true)
            .register(registry);
        return count;
      });
    }
  }

  /**
   * {@code funnel_dataplane_tunnels_total{loop}}: tunnels each of the process's data-plane event
   * loops has carried ({@code loop} is the loop's index, bounded by {@code --event-loops}), so a
   * dashboard shows whether the load spreads over every core. Registering twice on one registry
   * is harmless.
   */
  public static void dataPlaneLoops(MeterRegistry registry) {
    for (int i = 0; i < DataPlane.eventLoops(); i++) {
      int loop = i;
      // The class as the meter's object: always reachable (Micrometer holds it weakly).
      FunctionCounter.builder("funnel.dataplane.tunnels", DataPlane.class, c -> DataPlane.tunnelsCarried(loop))
          .description("Tunnels carried by each data-plane event loop")
          .tag("loop", Integer.toString(loop))
          .register(registry);
    }
  }
}
