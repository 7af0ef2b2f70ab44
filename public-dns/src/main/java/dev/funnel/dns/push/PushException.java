package dev.funnel.dns.push;

/** A push that failed in a known way: its {@link PushOutcome} and a one-line reason for the log. */
public final class PushException extends Exception {

  private final PushOutcome outcome;

  public PushException(PushOutcome outcome, String reason) {
    super(reason, null, false, false);
    this.outcome = outcome;
  }

  public PushOutcome outcome() {
    return outcome;
  }
}
