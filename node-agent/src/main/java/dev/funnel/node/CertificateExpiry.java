package dev.funnel.node;

import java.time.Instant;
import java.util.OptionalLong;

/**
 * When the certificate this node presents (its terminator's) expires, as the gateways are to hear
 * it: every session up when the value changes, and each session when it is welcomed (a session
 * whose gateway does not take it sends nothing). Set from any thread.
 */
final class CertificateExpiry {

  /** The notAfter in epoch seconds; 0 while there is none. */
  private volatile long notAfter;

  /** Records {@code value}; its epoch seconds when that changed (to be told now), else empty. */
  OptionalLong update(Instant value) {
    long seconds = value.getEpochSecond();
    if (seconds == notAfter) {
      return OptionalLong.empty();
    }
    notAfter = seconds;
    return OptionalLong.of(seconds);
  }

  /** Tells {@code session}'s gateway the current value, if there is one (a session just welcomed). */
  void tell(Session session) {
    long seconds = notAfter;
    if (seconds != 0) {
      session.sendCertificateExpiry(seconds);
    }
  }
}
