package dev.funnel.terminator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The terminator's meters. Labels are bounded: an HTTP status code (or {@code aborted}), the public
 * port (443, 8443, 10000), a tunnel outcome; never a hostname, a path or an IP.
 *
 * <ul>
 *   <li>{@code funnel.terminator.requests{code,port}} → {@code funnel_terminator_requests_total}</li>
 *   <li>{@code funnel.terminator.request{port}} → {@code funnel_terminator_request_seconds}: from
 *       the request head read to the response ended (or the upgrade switched)</li>
 *   <li>{@code funnel.terminator.tcp.connections{outcome,port}}: tls-terminated-tcp tunnels by outcome</li>
 *   <li>{@code funnel.terminator.tcp.bytes{direction,port}}: bytes carried by those tunnels</li>
 *   <li>{@code funnel.node.gate.decisions{rule,outcome}} → {@code funnel_node_gate_decisions_total}: each
 *       gate decision (rule: a {@code GateChain.Step} label; outcome: a handler's fixed word)</li>
 * </ul>
 */
final class TerminatorMetrics {

  /** The code label of a request whose client went away before the response ended. */
  static final String ABORTED = "aborted";

  private final MeterRegistry registry;
  private final ConcurrentMap<String, Counter> requests = new ConcurrentHashMap<>();
  private final ConcurrentMap<Integer, Timer> timers = new ConcurrentHashMap<>();

  private TerminatorMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Meters on Vert.x's default Micrometer registry, or on a private one when metrics are off. */
  static TerminatorMetrics create() {
    MeterRegistry registry = BackendRegistries.getDefaultNow();
    return new TerminatorMetrics(registry != null ? registry : new SimpleMeterRegistry());
  }

  /** Counts one gate decision (both labels bounded: see {@link dev.funnel.terminator.gate.GateDecisions}). */
  void gateDecision(dev.funnel.terminator.gate.GateChain.Step step, String outcome) {
    Counter.builder("funnel.node.gate.decisions")
        .description("Gate decisions on the node, by rule and outcome")
        .tag("rule", step.rule).tag("outcome", outcome)
        .register(registry).increment();
  }

  MeterRegistry registry() {
    return registry;
  }

  Timer.Sample start() {
    return Timer.start(registry);
  }

  /** The tcp connection outcomes, registered up front for each tls-terminated-tcp port. */
  static final java.util.List<String> TCP_OUTCOMES = java.util.List.of("spliced", "dial_failed", "client_gone",
      "early_data_overflow");

  /**
   * Registers an HTTP port's latency histogram at zero, so Prometheus sees the very first request
   * as an increase (a series that appears already counted gives {@code rate()} nothing).
   */
  void httpPort(int port) {
    timer(port);
  }

  /** Registers a tls-terminated-tcp port's outcome and byte counters at zero (see {@link #httpPort}). */
  void tcpPort(int port) {
    TCP_OUTCOMES.forEach(outcome -> tcpCounter(port, outcome));
    tcpBytes(port, 0, 0);
  }

  /** Counts one finished request under its status code (or {@link #ABORTED}) and records its duration. */
  void requestDone(int port, String code, Timer.Sample sample) {
    requests.computeIfAbsent(code + "/" + port, k -> Counter.builder("funnel.terminator.requests")
        .description("HTTP requests answered by the TLS terminator, by status code")
        .tag("code", code)
        .tag("port", String.valueOf(port))
        .register(registry)).increment();
    sample.stop(timer(port));
  }

  private Timer timer(int port) {
    return timers.computeIfAbsent(port, p -> Timer.builder("funnel.terminator.request")
        .description("From the request head read to the response ended")
        .tag("port", String.valueOf(p))
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(60))
        .register(registry));
  }

  void tcpConnection(int port, String outcome) {
    tcpCounter(port, outcome).increment();
  }

  private Counter tcpCounter(int port, String outcome) {
    return Counter.builder("funnel.terminator.tcp.connections")
        .description("tls-terminated-tcp connections by outcome")
        .tag("outcome", outcome)
        .tag("port", String.valueOf(port))
        .register(registry);
  }

  void tcpBytes(int port, long toBackend, long toClient) {
    Counter.builder("funnel.terminator.tcp.bytes").baseUnit("bytes")
        .description("Bytes carried by tls-terminated-tcp tunnels")
        .tag("direction", "to_backend").tag("port", String.valueOf(port))
        .register(registry).increment(toBackend);
    Counter.builder("funnel.terminator.tcp.bytes").baseUnit("bytes")
        .description("Bytes carried by tls-terminated-tcp tunnels")
        .tag("direction", "to_client").tag("port", String.valueOf(port))
        .register(registry).increment(toClient);
  }
}
