package dev.funnel.terminator.gate;

/**
 * Counts gate decisions: {@code funnel_node_gate_decisions_total{rule, outcome}}. Both labels
 * bounded: {@code rule} is a {@link GateChain.Step#rule}, {@code outcome} one of a handler's few
 * fixed words ({@code allowed}, {@code denied}, {@code limited}…) — never a user, an address or a name.
 */
@FunctionalInterface
public interface GateDecisions {

  void record(GateChain.Step step, String outcome);

  /** Counts nothing (tests). */
  GateDecisions NONE = (step, outcome) -> { };
}
