package dev.funnel.terminator;

import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.ServeTarget;
import java.util.concurrent.ConcurrentMap;

/**
 * What a public port's log lines share across its event loops and its route changes, kept in the
 * terminator's shared state ({@code GateContext.shared}'s map): each backend's {@link OutageLog}
 * and the port's {@link LogLimit} for refused requests and connections. Public clients decide how
 * often either is hit, so neither may log per request (README, "Log lines public clients cause").
 */
final class PortLogs {

  private static final System.Logger LOG = System.getLogger(TerminatorVerticle.class.getName());

  private PortLogs() {
  }

  /** The outages of {@code target} behind {@code publicPort}; {@code meanwhile}: what clients get until it answers. */
  static OutageLog outages(ConcurrentMap<String, Object> shared, int publicPort, ServeTarget target, String meanwhile) {
    return (OutageLog) shared.computeIfAbsent("outages " + publicPort + " " + target,
        k -> new OutageLog(LOG, "port " + publicPort + ": backend " + target, meanwhile));
  }

  /** The budget of log lines for the requests and connections {@code publicPort} refuses. */
  static LogLimit refusals(ConcurrentMap<String, Object> shared, int publicPort) {
    return (LogLimit) shared.computeIfAbsent("refusals " + publicPort, k -> new LogLimit());
  }
}
