package dev.funnel.registry;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * Slows down guessing of the admin token: each source address may fail {@code burst} times, then
 * one more failure per {@code refillMillis} ({@code RegistryOptions.DEFAULT_ADMIN_AUTH_FAILURE_*}:
 * 10, then one per 10 s). While a source has no failures left, every request
 * from it is refused (429) <em>before</em> its token is compared, so a guesser learns nothing, not
 * even from a right guess, until the bucket refills.
 *
 * <p>Memory is bounded: an access-ordered map of at most {@code maxSources}; a bucket untouched for
 * a whole refill is full again, the same as no bucket, and is dropped (oldest first); when the map
 * is full the least recently seen source is forgotten.
 *
 * <p>Thread-safe (one lock); calls are rare and tiny.
 */
final class AuthFailureLimiter {

  /** Sources remembered at once. */
  static final int DEFAULT_MAX_SOURCES = 10_000;

  private static final class Bucket {
    double failuresLeft;
    long touchedNanos;
  }

  private final int burst;
  private final long refillNanos;
  private final LongSupplier nanoClock;
  private final LinkedHashMap<String, Bucket> buckets;

  AuthFailureLimiter(int burst, long refillMillis, int maxSources, LongSupplier nanoClock) {
    if (burst < 1 || refillMillis < 1 || maxSources < 1) {
      throw new IllegalArgumentException("auth failure limits must be positive");
    }
    this.burst = burst;
    this.refillNanos = refillMillis * 1_000_000;
    this.nanoClock = nanoClock;
    this.buckets = new LinkedHashMap<>(64, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
        return size() > maxSources;
      }
    };
  }

  /**
   * Empty when {@code source} may try its token; otherwise the milliseconds until it may try
   * again (for {@code Retry-After}).
   */
  synchronized OptionalLong blocked(String source) {
    long now = nanoClock.getAsLong();
    forgetIdle(now);
    Bucket bucket = buckets.get(source);
    if (bucket == null) {
      return OptionalLong.empty();
    }
    refill(bucket, now);
    if (bucket.failuresLeft >= 1) {
      return OptionalLong.empty();
    }
    return OptionalLong.of((long) Math.ceil((1 - bucket.failuresLeft) * refillNanos / 1e6));
  }

  /** {@code source} presented no token or a wrong one. */
  synchronized void failed(String source) {
    long now = nanoClock.getAsLong();
    Bucket bucket = buckets.get(source);
    if (bucket == null) {
      bucket = new Bucket();
      bucket.failuresLeft = burst;
      bucket.touchedNanos = now;
      buckets.put(source, bucket);
    } else {
      refill(bucket, now);
    }
    bucket.failuresLeft = Math.max(0, bucket.failuresLeft - 1);
  }

  synchronized int trackedSources() {
    return buckets.size();
  }

  private void refill(Bucket bucket, long now) {
    bucket.failuresLeft = Math.min(burst, bucket.failuresLeft + (double) (now - bucket.touchedNanos) / refillNanos);
    bucket.touchedNanos = now;
  }

  private void forgetIdle(long now) {
    long fullAfter = refillNanos * burst;
    Iterator<Bucket> oldestFirst = buckets.values().iterator();
    while (oldestFirst.hasNext()) {
      if (now - oldestFirst.next().touchedNanos < fullAfter) {
        return;
      }
      oldestFirst.remove();
    }
  }
}
