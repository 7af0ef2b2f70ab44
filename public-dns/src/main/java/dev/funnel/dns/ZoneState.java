package dev.funnel.dns;

import java.util.List;
import java.util.Map;

/**
 * What the zone's answers change with besides the registry: the SOA serial (starting at the clock's
 * seconds, moved on by every route or challenge change, never backwards, 32 bits) and the ACME
 * challenge values held ({@code _acme-challenge} name → TXT values), replaced as a whole. Used on the
 * verticle's event loop only.
 */
final class ZoneState {

  private Map<String, List<String>> challenges = Map.of();
  private long serial = System.currentTimeMillis() / 1000;

  long serial() {
    return serial;
  }

  /** The challenge values held now (an immutable snapshot). */
  Map<String, List<String>> challenges() {
    return challenges;
  }

  /** Holds {@code challenges} instead and moves the serial on. */
  void challenges(Map<String, List<String>> challenges) {
    this.challenges = challenges;
    bumpSerial();
  }

  /** Moves the serial on: one more, or the clock's seconds when those are ahead. */
  void bumpSerial() {
    serial = next(serial, System.currentTimeMillis() / 1000);
  }

  /** The serial after {@code serial} at {@code nowSeconds}: one more or the clock, whichever is larger, mod 2^32. */
  static long next(long serial, long nowSeconds) {
    return Math.max(serial + 1, nowSeconds) & 0xFFFF_FFFFL;
  }
}
