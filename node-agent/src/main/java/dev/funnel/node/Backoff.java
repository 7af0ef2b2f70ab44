package dev.funnel.node;

import java.util.Random;

/**
 * Reconnect delays: exponential with full jitter. Attempt {@code n} waits a uniformly random time in
 * {@code [min, min(max, min·2ⁿ)]}; {@link #reset()} after a session is welcomed starts over. Not
 * thread-safe: used on the verticle's event loop.
 */
final class Backoff {

  private final long min;
  private final long max;
  private final Random random;
  private int attempt;

  Backoff(long minMillis, long maxMillis, Random random) {
    this.min = Math.max(1, minMillis);
    this.max = Math.max(this.min, maxMillis);
    this.random = random;
  }

  /** The delay before the next attempt, in milliseconds; each call doubles the ceiling up to max. */
  long next() {
    long ceiling = ceiling(min, max, attempt);
    attempt++;
    return ceiling == min ? min : min + random.nextLong(ceiling - min + 1);
  }

  /** The upper bound of attempt {@code attempt}'s delay (from 0): {@code min(max, min·2ⁿ)}. A pure function. */
  static long ceiling(long min, long max, int attempt) {
    long ceiling = min;
    for (int i = 0; i < attempt && ceiling < max; i++) {
      ceiling = Math.min(max, ceiling * 2);
    }
    return ceiling;
  }

  /** How many delays were handed out since the last reset. */
  int attempts() {
    return attempt;
  }

  void reset() {
    attempt = 0;
  }
}
