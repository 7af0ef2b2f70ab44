package dev.funnel.frontend;

import dev.funnel.frontend.FrontendMetrics.Outcome;

/** Why a connection is refused: the alert, the metric's outcome, the log line; cheap, never logged with a trace. */
final class Refusal extends RuntimeException {
  final TlsAlert alert;
  final Outcome outcome;
  /** The route that led here may be stale: worth one fresh resolve. */
  final boolean staleRoute;

  Refusal(TlsAlert alert, Outcome outcome, String reason) {
    this(alert, outcome, reason, false);
  }

  Refusal(TlsAlert alert, Outcome outcome, String reason, boolean staleRoute) {
    super(reason, null, false, false);
    this.alert = alert;
    this.outcome = outcome;
    this.staleRoute = staleRoute;
  }
}
