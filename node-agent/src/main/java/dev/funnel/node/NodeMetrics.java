package dev.funnel.node;

import dev.funnel.common.ops.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;

/**
 * The node's meters. Labels are bounded: the answer status, the direction, the role; never a
 * client address or a name.
 *
 * <ul>
 *   <li>{@code funnel.node.offers{answer}}: offers answered, by status (200, 400, 403, 404, 405, 503),
 *       registered at start so every answer shows from the first scrape;</li>
 *   <li>{@code funnel.tunnels.active{role=node}}: tunnels spliced right now;</li>
 *   <li>{@code funnel.tunnel.bytes{direction,role=node}}: bytes carried, {@code inbound} from the
 *       public client to the local target, {@code outbound} back;</li>
 *   <li>{@code funnel.node.gate.decisions{rule,outcome}}: the gate of stream ports ({@link TcpGate}),
 *       its {@code cidr} and {@code rate-limit} series registered at start;</li>
 *   <li>{@code funnel.node.sessions}, {@code funnel.node.link.connections}: sessions up and their
 *       link connections (HTTP/2, one or more per session), summed over the agents on the registry.</li>
 * </ul>
 */
final class NodeMetrics {

  /** The {@code answer} values registered up front. */
  static final List<Integer> ANSWERS = List.of(200, 400, 403, 404, 405, 503);

  /** The agents on each registry (held weakly); the session and pool gauges sum over them. */
  private static final Map<MeterRegistry, Set<NodeAgentVerticle>> AGENTS = new WeakHashMap<>();

  private final MeterRegistry registry;
  private final AtomicInteger active;
  private final Counter inbound;
  private final Counter outbound;
  /** {@code funnel.node.offers} by answer status, looked up once per status, not per offer. */
  private final Map<Integer, Counter> offers = new java.util.concurrent.ConcurrentHashMap<>();

  NodeMetrics(MeterRegistry registry) {
    this.registry = registry;
    Meters.dataPlaneLoops(registry);
    this.active = Meters.tunnelsActive(registry, Meters.ROLE_NODE);
    this.inbound = Meters.tunnelBytes(registry, Meters.ROLE_NODE, Meters.INBOUND);
    this.outbound = Meters.tunnelBytes(registry, Meters.ROLE_NODE, Meters.OUTBOUND);
    ANSWERS.forEach(this::offerCounter);
    // The stream ports' gate decisions, at zero from the first scrape (the terminator's HTTP routes
    // count on the same family, under their own rules, from their first request).
    for (String[] pair : new String[][] {{"cidr", "allowed"}, {"cidr", "denied"}, {"rate-limit", "allowed"},
        {"rate-limit", "limited"}}) {
      dev.funnel.common.serve.GateMeter.counter(registry, pair[0], pair[1]);
    }
  }

  MeterRegistry registry() {
    return registry;
  }

  /** Adds {@code agent} to the session and pool gauges of this registry (registered with the first agent). */
  void watch(NodeAgentVerticle agent) {
    synchronized (AGENTS) {
      AGENTS.computeIfAbsent(registry, r -> {
        Set<NodeAgentVerticle> agents = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
        gauge(r, agents, "funnel.node.sessions", "Sessions with a gateway that are up now",
            NodeAgentVerticle::upSessions);
        gauge(r, agents, "funnel.node.link.connections", "Link connections (HTTP/2) to gateways that are up now",
            NodeAgentVerticle::linkConnections);
        return agents;
      }).add(agent);
    }
  }

  private static void gauge(MeterRegistry registry, Set<NodeAgentVerticle> agents, String name, String description,
                            ToIntFunction<NodeAgentVerticle> value) {
    Gauge.builder(name, () -> {
      synchronized (agents) {
        return agents.stream().mapToInt(value).sum();
      }
    }).description(description).strongReference(true).register(registry);
  }

  private Counter offerCounter(int status) {
    return offers.computeIfAbsent(status, answer -> Counter.builder("funnel.node.offers")
        .description("Ingress offers answered by this node, by answer status")
        .tag("answer", Integer.toString(answer))
        .register(registry));
  }

  /** Counts one answered offer. */
  void offer(int status) {
    offerCounter(status).increment();
  }

  void tunnelOpened() {
    active.incrementAndGet();
  }

  void tunnelClosed() {
    active.decrementAndGet();
  }

  /** Bytes from the public client to the local target, counted as they pass. */
  void inbound(long bytes) {
    inbound.increment(bytes);
  }

  /** Bytes from the local target back to the public client, counted as they pass. */
  void outbound(long bytes) {
    outbound.increment(bytes);
  }

  /** For tests: offers answered with {@code status} so far. */
  double offers(int status) {
    Counter counter = registry.find("funnel.node.offers").tag("answer", Integer.toString(status)).counter();
    return counter == null ? 0 : counter.count();
  }

  int activeTunnels() {
    return active.get();
  }
}
