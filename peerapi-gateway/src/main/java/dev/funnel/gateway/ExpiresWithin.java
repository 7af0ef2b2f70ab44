package dev.funnel.gateway;

import java.time.Duration;

/**
 * How soon a node's certificate expires: the bounded {@code expires_within} label of
 * {@code funnel_gateway_node_certificates}. Each window holds what the smaller ones do not: a
 * certificate with 3 days left is {@code 7d}, not {@code 30d}. Pure.
 */
enum ExpiresWithin {
  /** Past its notAfter: clients get a certificate error now. */
  EXPIRED("expired", Duration.ZERO),
  /** Less than a day left. */
  DAY("1d", Duration.ofDays(1)),
  /** 1 to 7 days left: an ACME renewal (due at about a third of the lifetime left) has failed for weeks. */
  WEEK("7d", Duration.ofDays(7)),
  /** 7 to 30 days left: a 90-day ACME certificate is renewed in this window. */
  MONTH("30d", Duration.ofDays(30)),
  /** 30 days or more left. */
  LATER("later", null);

  private final String label;
  /** The window's upper bound (exclusive); null for the last one, zero (inclusive) for EXPIRED. */
  private final Duration within;

  ExpiresWithin(String label, Duration within) {
    this.label = label;
    this.within = within;
  }

  String label() {
    return label;
  }

  /**
   * The window a certificate valid until {@code notAfter} falls in, seen at {@code now} (both epoch
   * seconds, any value: what a node reports is not trusted to be sane). A notAfter of exactly
   * {@code now} has expired.
   */
  static ExpiresWithin of(long now, long notAfter) {
    if (notAfter <= now) {
      return EXPIRED;
    }
    // now is a real clock (positive), notAfter above it: the difference does not overflow.
    long left = notAfter - now;
    for (ExpiresWithin window : new ExpiresWithin[] {DAY, WEEK, MONTH}) {
      if (left < window.within.toSeconds()) {
        return window;
      }
    }
    return LATER;
  }
}
