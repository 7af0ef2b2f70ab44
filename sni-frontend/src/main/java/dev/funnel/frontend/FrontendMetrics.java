package dev.funnel.frontend;

import dev.funnel.common.ops.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
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
    NODE_UNREACHABLE, REGISTRY_UNAVAILABLE, CLIENT_CLOSED,
    /** Refused at accept by {@link Admission}: source over its rate, its open-connection cap, the global cap. */
    RATE_LIMITED, SOURCE_LIMIT, SERVER_FULL;

    String tag() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  static final String ROLE = Meters.ROLE_FRONTEND;

  private final MeterRegistry registry;
  /** Tunnels open right now: one count for every frontend verticle on this registry ({@link Meters#tunnelsActive}). */
  private final AtomicInteger active;
  private final DistributionSummary helloBytes;
  private final Timer setup;
  private final Counter bytesInbound;
  private final Counter bytesOutbound;
  /** {@code funnel.frontend.connections} of each public port, by outcome: looked up once per port. */
  private final java.util.Map<Integer, Counter[]> connections = new java.util.concurrent.ConcurrentHashMap<>();

  private FrontendMetrics(MeterRegistry registry) {
    this.registry = registry;
    Meters.dataPlaneLoops(registry);
    this.helloBytes = DistributionSummary.builder("funnel.frontend.clienthello.bytes")
        .description("Size of ClientHello handshake messages")
        .baseUnit("bytes")
        .serviceLevelObjectives(256, 512, 1024, 1536, 2048, 4096, 8192, 16384)
        .register(registry);
    this.setup = Meters.tunnelSetup(registry, ROLE);
    this.bytesInbound = Meters.tunnelBytes(registry, ROLE, Meters.INBOUND);
    this.bytesOutbound = Meters.tunnelBytes(registry, ROLE, Meters.OUTBOUND);
    this.active = Meters.tunnelsActive(registry, ROLE);
  }

  /** Meters on {@code registry}; on a private in-memory registry when it is null (tests, metrics off). */
  static FrontendMetrics create(MeterRegistry registry) {
    return new FrontendMetrics(Meters.orPrivate(registry));
  }

  MeterRegistry registry() {
    return registry;
  }

  /** The {@code result} values of {@code funnel.frontend.resolve}. */
  static final java.util.List<String> RESOLVE_RESULTS = java.util.List.of("found", "no_route", "funnel_off",
      "port_not_allowed", "error");

  /**
   * Registers every outcome of every public port and every resolve result at zero. A series that
   * first appears already counted gives Prometheus' {@code rate()} nothing, so without this the
   * first refusal of each kind would never show on a dashboard or fire an alert.
   */
  void registerUpFront(java.util.Collection<Integer> ports) {
    for (int port : ports) {
      connections.computeIfAbsent(port, this::portCounters);
    }
    RESOLVE_RESULTS.forEach(this::resolveTimer);
  }

  void connection(int port, Outcome outcome) {
    connectionCounter(port, outcome).increment();
  }

  private Counter connectionCounter(int port, Outcome outcome) {
    return connections.computeIfAbsent(port, this::portCounters)[outcome.ordinal()];
  }

  private Counter[] portCounters(int port) {
    Outcome[] outcomes = Outcome.values();
    Counter[] counters = new Counter[outcomes.length];
    for (Outcome outcome : outcomes) {
      counters[outcome.ordinal()] = Counter.builder("funnel.frontend.connections")
          .description("Connections accepted on a public port, by how they ended at the frontend")
          .tags("port", Integer.toString(port), "outcome", outcome.tag())
          .register(registry);
    }
    return counters;
  }

  void helloBytes(int length) {
    helloBytes.record(length);
  }

  /** One registry lookup: {@code result} is "found", a ResolveFailure name in lower case, or "error". */
  void resolve(long nanos, String result) {
    resolveTimer(result).record(Duration.ofNanos(nanos));
  }

  private Timer resolveTimer(String result) {
    return Timer.builder("funnel.frontend.resolve")
        .description("Route lookups on the event bus (cache misses)")
        .tags("result", result)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
  }

  void setup(long nanos) {
    setup.record(Duration.ofNanos(nanos));
  }

  void tunnelOpened() {
    active.incrementAndGet();
  }

  void tunnelClosed() {
    active.decrementAndGet();
  }

  /** Bytes client → node, counted as they pass (a live counter for the splice). */
  void inbound(long bytes) {
    bytesInbound.increment(bytes);
  }

  /** Bytes node → client, counted as they pass. */
  void outbound(long bytes) {
    bytesOutbound.increment(bytes);
  }
}
