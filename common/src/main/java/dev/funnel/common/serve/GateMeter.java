package dev.funnel.common.serve;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * {@code funnel_node_gate_decisions_total{rule,outcome}}, built in one place for the terminator
 * (HTTP routes) and the node agent ({@code tcp://} ports) in one JVM. Both labels bounded:
 * {@code rule} is a gate rule's flag name ({@code cidr}, {@code rate-limit}, {@code max-body},
 * {@code verify}, {@code max-concurrent}, {@code auth}), {@code outcome} {@link #ALLOWED} or a
 * refusal's fixed word ({@code denied}, {@code limited}, {@code too_large}, {@code busy},
 * {@code missing_signature}, {@code malformed_signature}, {@code bad_signature},
 * {@code stale_timestamp}…) — never a user, an address, a name or a path.
 */
public final class GateMeter {

  /** Micrometer name; Prometheus shows it as {@code funnel_node_gate_decisions_total}. */
  public static final String NAME = "funnel.node.gate.decisions";
  public static final String ALLOWED = "allowed";

  private GateMeter() {
  }

  /** The counter for one label pair (registered on first use). */
  public static Counter counter(MeterRegistry registry, String rule, String outcome) {
    return Counter.builder(NAME)
        .description("Gate decisions on the node, by rule and outcome")
        .tag("rule", rule)
        .tag("outcome", outcome)
        .register(registry);
  }
}
