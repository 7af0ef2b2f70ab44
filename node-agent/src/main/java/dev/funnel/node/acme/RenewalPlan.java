package dev.funnel.node.acme;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * When to order the next certificate: pure decisions, no clock and no randomness of their own (the
 * caller passes {@code now} and a {@code jitter} drawn uniformly from [0, 1)).
 *
 * <ul>
 *   <li><b>Renewal</b> ({@link #renewAt}): inside the CA's ACME Renewal Information window when it
 *       offers one (at a point the jitter picks, RFC 9773 §4.2); otherwise at two thirds of the
 *       certificate's lifetime, less up to {@value #SPREAD_DIVISOR}th of the lifetime of jitter, so
 *       nodes issued together do not all come back together. Never before {@code now}.</li>
 *   <li><b>After a failed order</b> ({@link #retryAt}): the CA's {@code Retry-After} when it sent one
 *       (a rate limit: asking earlier only fails again), never sooner than {@link #MIN_BACKOFF};
 *       otherwise exponential from {@link #MIN_BACKOFF}, doubling per failure up to
 *       {@link #MAX_BACKOFF}, the wait drawn from its upper half.</li>
 * </ul>
 */
public final class RenewalPlan {

  /** A renewal window the CA suggests (ARI). */
  public record Window(Instant start, Instant end) {
  }

  public static final Duration MIN_BACKOFF = Duration.ofSeconds(30);
  public static final Duration MAX_BACKOFF = Duration.ofHours(6);
  static final int SPREAD_DIVISOR = 20;

  private RenewalPlan() {
  }

  /** When to renew a certificate valid from {@code notBefore} to {@code notAfter}. */
  public static Instant renewAt(Instant notBefore, Instant notAfter, Optional<Window> ari, double jitter,
                                Instant now) {
    Instant at;
    if (ari.isPresent() && !ari.get().end().isBefore(ari.get().start())) {
      Window window = ari.get();
      long span = Duration.between(window.start(), window.end()).toMillis();
      at = window.start().plusMillis((long) (span * clamp(jitter)));
    } else {
      long lifetime = Math.max(0, Duration.between(notBefore, notAfter).toMillis());
      at = notBefore.plusMillis(lifetime * 2 / 3).minusMillis((long) (lifetime / SPREAD_DIVISOR * clamp(jitter)));
    }
    return at.isBefore(now) ? now : at;
  }

  /** When to try again after {@code failures} (1 for the first) failed orders in a row. */
  public static Instant retryAt(int failures, Optional<Instant> retryAfter, double jitter, Instant now) {
    Instant soonest = now.plus(MIN_BACKOFF);
    if (retryAfter.isPresent()) {
      return retryAfter.get().isAfter(soonest) ? retryAfter.get() : soonest;
    }
    long ceiling = MIN_BACKOFF.toMillis() << Math.min(Math.max(failures, 1) - 1, 20);
    ceiling = Math.min(ceiling, MAX_BACKOFF.toMillis());
    return now.plusMillis(ceiling / 2 + (long) (ceiling / 2 * clamp(jitter)));
  }

  private static double clamp(double jitter) {
    return Math.max(0, Math.min(jitter, 1));
  }
}
