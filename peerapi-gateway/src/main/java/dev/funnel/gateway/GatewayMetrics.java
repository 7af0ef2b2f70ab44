package dev.funnel.gateway;

import dev.funnel.common.ops.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

/**
 * The gateway's meters. Labels are bounded: an offer's answer, a role; never a node name or an IP.
 *
 * <p>The values behind the gauges are atomics written on the verticle's event loop and read by the
 * scraper's thread. Gauges are registered once per registry and sum over every live gateway in the
 * JVM, so two gateways in one process neither hide nor unregister each other's numbers.
 */
final class GatewayMetrics {

  /** The {@code answer} tag values of {@code funnel.gateway.offers}: a bounded set. */
  static final Set<String> ANSWERS = Set.of("200", "400", "403", "404", "405", "503", "timeout", "other");

  private final MeterRegistry registry;
  private final Timer tunnelSetup;
  private final Map<String, Counter> offersByAnswer = new HashMap<>();
  private final Counter bytesInbound;
  private final Counter bytesOutbound;
  private final AtomicInteger sessions = new AtomicInteger();
  /** Reads the link connections of this gateway's sessions (set at start). */
  private volatile java.util.function.IntSupplier linkConnections = () -> 0;
  /**
   * The notAfter (epoch seconds) of the certificate each session's node reported, by session id;
   * bounded by the sessions this gateway holds (an entry leaves with its session).
   */
  private final Map<String, Long> certificates = new java.util.concurrent.ConcurrentHashMap<>();
  /** Tunnels accepted by a node and not yet closed: shared by every gateway on the registry ({@link Meters#tunnelsActive}). */
  private final AtomicInteger activeTunnels;

  private GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    Meters.dataPlaneLoops(registry);
    // From the ingress offer's stream opened to the node's 200 read.
    this.tunnelSetup = Meters.tunnelSetup(registry, Meters.ROLE_GATEWAY);
    this.activeTunnels = Meters.tunnelsActive(registry, Meters.ROLE_GATEWAY);
    // Live: tunnels this gateway splices itself (those of frontends in other processes).
    this.bytesInbound = Meters.tunnelBytes(registry, Meters.ROLE_GATEWAY, Meters.INBOUND);
    this.bytesOutbound = Meters.tunnelBytes(registry, Meters.ROLE_GATEWAY, Meters.OUTBOUND);
    for (String answer : ANSWERS) {
      offersByAnswer.put(answer, Counter.builder("funnel.gateway.offers")
          .description("Ingress offers by the node's answer")
          .tag("answer", answer)
          .register(registry));
    }
  }

  /** Bytes from the public client towards the node, counted as they pass. */
  void inbound(long bytes) {
    bytesInbound.increment(bytes);
  }

  /** Bytes from the node towards the public client, counted as they pass. */
  void outbound(long bytes) {
    bytesOutbound.increment(bytes);
  }

  void linkConnections(java.util.function.IntSupplier count) {
    this.linkConnections = count;
  }

  /** Meters on Vert.x's default Micrometer registry, or on a private one when metrics are off. */
  static GatewayMetrics start() {
    GatewayMetrics metrics = new GatewayMetrics(Meters.registry());
    LiveGateways.of(metrics.registry).live.add(metrics);
    return metrics;
  }

  /** This gateway's values leave the gauges (the meters stay: another gateway may share them). */
  void stop() {
    LiveGateways.of(registry).live.remove(this);
  }

  MeterRegistry registry() {
    return registry;
  }

  void sessions(int count) {
    sessions.set(count);
  }

  /** The node of session {@code sessionId} presents a certificate valid until {@code notAfter} (epoch seconds). */
  void certificate(String sessionId, long notAfter) {
    certificates.put(sessionId, notAfter);
  }

  /** The session ended: its certificate is no longer counted. */
  void certificateGone(String sessionId) {
    certificates.remove(sessionId);
  }

  /** This gateway's sessions whose node's certificate expires in {@code window}, seen at {@code now}. */
  int certificates(ExpiresWithin window, long now) {
    int n = 0;
    for (long notAfter : certificates.values()) {
      if (ExpiresWithin.of(now, notAfter) == window) {
        n++;
      }
    }
    return n;
  }

  void tunnelOpened() {
    activeTunnels.incrementAndGet();
  }

  void tunnelClosed() {
    activeTunnels.decrementAndGet();
  }

  /** Counts one offer by the node's answer: a status code, or {@code timeout}. */
  void offerAnswered(String answer) {
    offersByAnswer.getOrDefault(answer, offersByAnswer.get("other")).increment();
  }

  void tunnelSetup(long nanos) {
    tunnelSetup.record(Duration.ofNanos(nanos));
  }

  /** Every gateway alive on one registry; the gauges are registered once and sum over them. */
  private static final class LiveGateways {
    private static final Map<MeterRegistry, LiveGateways> BY_REGISTRY = new WeakHashMap<>();

    final Set<GatewayMetrics> live = new CopyOnWriteArraySet<>();

    static synchronized LiveGateways of(MeterRegistry registry) {
      return BY_REGISTRY.computeIfAbsent(registry, r -> {
        LiveGateways gateways = new LiveGateways();
        gateways.gauge(r, "funnel.gateway.node.sessions", "Node control sessions held by this gateway",
            m -> m.sessions.get(), Map.of());
        gateways.gauge(r, "funnel.gateway.link.connections", "Link connections (HTTP/2) of every node session",
            m -> m.linkConnections.getAsInt(), Map.of());
        for (ExpiresWithin window : ExpiresWithin.values()) {
          gateways.gauge(r, "funnel.gateway.node.certificates",
              "Node sessions by how soon the certificate their node presents expires",
              m -> m.certificates(window, Instant.now().getEpochSecond()), Map.of("expires_within", window.label()));
        }
        return gateways;
      });
    }

    private void gauge(MeterRegistry registry, String name, String description,
                       ToIntFunction<GatewayMetrics> value, Map<String, String> tags) {
      Gauge.Builder<?> builder = Gauge.builder(name, () -> live.stream().mapToInt(value).sum())
          .description(description)
          .strongReference(true);
      tags.forEach(builder::tag);
      builder.register(registry);
    }
  }
}
