package dev.funnel.frontend;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The frontend's meters. Labels are bounded: port (three values), outcome (the enum below),
 * direction, role. Never the client address or the SNI name.
 */
final class FrontendMetrics {

  /** How a connection ended at the frontend: the {@code outcome} label, and the refusal's reason. */
  enum Outcome {
    ROUTED, NO_ROUTE, FUNNEL_OFF, PORT_NOT_ALLOWED, BAD_HELLO, NOT_TLS, NO_SNI, BAD_NAME, HELLO_TIMEOUT,
    NODE_UNREACHABLE, REGISTRY_UNAVAILABLE, CLIENT_CLOSED;

    String tag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  static final String ROLE = "frontend";

  /**
   * Tunnels open right now in this JVM. One counter for every frontend verticle instance, since a
   * gauge registers once per name and tags.
   */
  private static final AtomicInteger ACTIVE = new AtomicInteger();

  private final MeterRegistry registry;
  private final DistributionSummary helloBytes;
  private final Timer setup;
  private final Counter bytesInbound;
  private final Counter bytesOutbound;

  private FrontendMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.helloBytes = DistributionSummary.builder("funnel.frontend.clienthello.bytes")
        .description("Size of ClientHello handshake messages")
        .baseUnit("bytes")
        .serviceLevelObjectives(256, 512, 1024, 1536, 2048, 4096, 8192, 16384)
        .register(registry);
    this.setup = Timer.builder("funnel.tunnel.setup")
        .description("From a whole ClientHello to the node's stream handed over")
        .tags("role", ROLE)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry);
    this.bytesInbound = bytes("inbound");
    this.bytesOutbound = bytes("outbound");
    registry.gauge("funnel.tunnels.active", Tags.of("role", ROLE), ACTIVE);
  }

  /** Meters on {@code registry}; on a private in-memory registry when it is null (tests, metrics off). */
  static FrontendMetrics create(MeterRegistry registry) {
    return new FrontendMetrics(registry != null ? registry : new SimpleMeterRegistry());
  }

  MeterRegistry registry() {
    return registry;
  }

  private Counter bytes(String direction) {
    return Counter.builder("funnel.tunnel.bytes")
        .description("Bytes carried by tunnels; inbound is client to node")
        .baseUnit("bytes")
        .tags("direction", direction, "role", ROLE)
        .register(registry);
  }

  void connection(int port, Outcome outcome) {
    Counter.builder("funnel.frontend.connections")
        .description("Connections accepted on a public port, by how they ended at the frontend")
        .tags("port", Integer.toString(port), "outcome", outcome.tag())
        .register(registry)
        .increment();
  }

  void helloBytes(int length) {
    helloBytes.record(length);
  }

  /** One registry lookup: {@code result} is "found", a ResolveFailure name in lower case, or "error". */
  void resolve(long nanos, String result) {
    Timer.builder("funnel.frontend.resolve")
        .description("Route lookups on the event bus (cache misses)")
        .tags("result", result)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry)
        .record(Duration.ofNanos(nanos));
  }

  void setup(long nanos) {
    setup.record(Duration.ofNanos(nanos));
  }

  void tunnelOpened() {
    ACTIVE.incrementAndGet();
  }

  void tunnelClosed(long inbound, long outbound) {
    ACTIVE.decrementAndGet();
    bytesInbound.increment(inbound);
    bytesOutbound.increment(outbound);
  }

  static int active() {
    return ACTIVE.get();
  }
}
