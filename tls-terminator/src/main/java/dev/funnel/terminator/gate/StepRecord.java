package dev.funnel.terminator.gate;

import dev.funnel.common.serve.GateLog;
import dev.funnel.common.serve.GateMeter;

/**
 * Where one route's step puts its decisions: the counter ({@link GateDecisions}, bounded labels)
 * and the route's {@link GateLog} (tally for {@code serve list}; one INFO line per refusal).
 */
record StepRecord(GateChain.Step step, GateLog log, GateDecisions decisions) {

  /** The record of {@code step} on the route {@code context} builds (the route's log is shared by its loops). */
  static StepRecord of(GateChain.Step step, GateContext context) {
    return new StepRecord(step, log(context), context.decisions());
  }

  /** The route's log, one per port and path, kept across rebuilds. */
  static GateLog log(GateContext context) {
    return context.shared("gate-log", () -> new GateLog("port " + context.publicPort() + " path "
        + context.routePath()));
  }

  void allowed() {
    decisions.record(step, GateMeter.ALLOWED);
    log.allowed(step.rule);
  }

  void refused(String outcome, String client, String reason) {
    decisions.record(step, outcome);
    log.refused(step.rule, outcome, client, reason);
  }
}
