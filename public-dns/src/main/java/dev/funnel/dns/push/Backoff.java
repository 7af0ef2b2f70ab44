package dev.funnel.dns.push;

/** How long to wait before the next try after failures: doubling from a first delay up to a cap, with jitter. Pure. */
public final class Backoff {

  /** The delay varies by up to this fraction either way, so pushers that failed together do not retry together. */
  static final double JITTER = 0.2;

  private Backoff() {
  }

  /**
   * The wait after {@code failures} failures in a row (1 or more): {@code first · 2^(failures-1)},
   * capped at {@code max}, scaled by {@code 1 ± JITTER} as {@code random} (in [0, 1)) says.
   */
  public static long delayMillis(int failures, long first, long max, double random) {
    int doublings = Math.max(0, Math.min(failures - 1, 30));
    long base = (long) Math.min((double) max, first * Math.pow(2, doublings));
    double factor = 1 - JITTER + 2 * JITTER * random;
    return Math.max(1, Math.round(base * factor));
  }
}
