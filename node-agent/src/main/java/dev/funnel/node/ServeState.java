package dev.funnel.node;

import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

/**
 * What this node funnels now: the serve config (public port → target) and the gates of its stream
 * ports, each an immutable snapshot replaced whole, so an offer reads one consistent view from any
 * thread. The gates are built on the meter registry chosen at start; rules set before that are kept
 * and applied then.
 */
final class ServeState {

  /** The agent's logger: these lines were always the agent's. */
  private static final System.Logger LOG = System.getLogger(NodeAgentVerticle.class.getName());

  private final AtomicReference<Map<Integer, ServeTarget>> serve;
  private final AtomicReference<Map<Integer, TcpGate>> gates = new AtomicReference<>(Map.of());
  private volatile Map<Integer, GatePolicy> rules = Map.of();
  private volatile MeterRegistry registry;

  ServeState(Map<Integer, ServeTarget> initial) {
    this.serve = new AtomicReference<>(Map.copyOf(initial));
  }

  /** Builds the gates of the rules set so far on {@code registry} (at the agent's start). */
  void start(MeterRegistry registry) {
    this.registry = registry;
    updateTcpRules(rules);
  }

  /** Replaces the serve config (applies to the next offer) and returns the new snapshot. */
  Map<Integer, ServeTarget> replace(Map<Integer, ServeTarget> newServe) {
    Map<Integer, ServeTarget> snapshot = Map.copyOf(newServe);
    serve.set(snapshot);
    LOG.log(Level.INFO, "serve config now {0}", describe(snapshot));
    return snapshot;
  }

  Map<Integer, ServeTarget> snapshot() {
    return serve.get();
  }

  /** The funnelled ports, ascending (what a Hello or ServeUpdate carries). */
  List<Integer> ports() {
    return sortedPorts(serve.get());
  }

  boolean serves(int port) {
    return serve.get().containsKey(port);
  }

  /** Replaces the stream ports' gates (rate counts start over); a policy with no rule gates nothing. */
  void updateTcpRules(Map<Integer, GatePolicy> newRules) {
    rules = Map.copyOf(newRules);
    MeterRegistry on = registry;
    if (on == null) {
      return; // built at start, on the registry chosen there
    }
    Map<Integer, TcpGate> built = new HashMap<>();
    newRules.forEach((port, r) -> {
      if (gates(r)) {
        built.put(port, new TcpGate(port, r, on));
      }
    });
    gates.set(Map.copyOf(built));
    if (!built.isEmpty()) {
      LOG.log(Level.INFO, "tcp gates now {0}", new TreeMap<>(built).entrySet().stream()
          .map(e -> e.getKey() + ": " + e.getValue().policy().describe()).collect(Collectors.joining(", ")));
    }
  }

  /** The gate of a stream port, if it has one. */
  Optional<TcpGate> gate(int port) {
    return Optional.ofNullable(gates.get().get(port));
  }

  /** Every stream port's gate now, by port. */
  Map<Integer, TcpGate> gates() {
    return gates.get();
  }

  /** True when {@code policy} has a rule a stream port's gate applies (CIDR lists or a rate limit). */
  static boolean gates(GatePolicy policy) {
    return !policy.allowCidrs().isEmpty() || !policy.denyCidrs().isEmpty() || policy.rateLimit() != null;
  }

  static List<Integer> sortedPorts(Map<Integer, ServeTarget> serve) {
    return List.copyOf(new TreeSet<>(serve.keySet()));
  }

  /** {@code 443=http://…, 8443=tcp://…} by port, or {@code (nothing funnelled)}. */
  static String describe(Map<Integer, ServeTarget> serve) {
    StringBuilder out = new StringBuilder();
    for (Integer port : new TreeSet<>(serve.keySet())) {
      out.append(out.length() == 0 ? "" : ", ").append(port).append('=').append(serve.get(port));
    }
    return out.length() == 0 ? "(nothing funnelled)" : out.toString();
  }
}
