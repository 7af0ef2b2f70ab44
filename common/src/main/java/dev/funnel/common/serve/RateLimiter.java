package dev.funnel.common.serve;

import java.net.InetAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A token bucket per client address: each bucket holds up to {@code requests} tokens, starts full,
 * and is filled up again at the end of each period counted from the first request it saw (an
 * interval refill, like Bucket4j's {@code refillIntervally}). So {@code 20/s} means: at most 20
 * requests from one address in any one second counted from its first, and the 21st inside that
 * second is refused with the seconds until the refill. A greedy refill (one token every 50 ms)
 * would let a client that spreads its requests over the second through with more than 20.
 *
 * <p>Clients are keyed by IPv4 address, and IPv6 clients by their /64 (one IPv6 subscriber
 * usually holds a whole /64, so keying by the full address would let them walk around the limit).
 *
 * <p>Memory is bounded: at most {@code maxKeys} buckets. A bucket whose period has run out is full
 * again, the same as no bucket, so idle ones are dropped as new clients come; when the table is
 * full of buckets still counting, the one seen least recently is dropped (that client starts over
 * with a full bucket: under a flood from more than {@code maxKeys} addresses in one period the
 * limit errs on letting through). Thread-safe (one lock; the critical section is a map lookup).
 */
public final class RateLimiter {

  /** Default cap on the number of client buckets held (about 100 bytes each). */
  public static final int DEFAULT_MAX_KEYS = 65_536;

  /** How many of the least recently used buckets are checked for expiry on each acquire. */
  private static final int SWEEP = 2;

  /** The outcome of one {@link #acquire}: allowed, or refused with a Retry-After in whole seconds (≥ 1). */
  public record Permit(boolean allowed, long retryAfterSeconds) {
    static final Permit OK = new Permit(true, 0);
  }

  private record Key(boolean v6, long bits) {
  }

  private static final class Bucket {
    long windowStart;
    int tokens;
  }

  private final GatePolicy.RateLimit rate;
  private final long periodNanos;
  private final int maxKeys;
  private final LongSupplier nanoClock;
  private final LinkedHashMap<Key, Bucket> buckets = new LinkedHashMap<>(16, 0.75f, true);

  public RateLimiter(GatePolicy.RateLimit rate) {
    this(rate, DEFAULT_MAX_KEYS, System::nanoTime);
  }

  /** {@code nanoClock} is a monotonic clock ({@link System#nanoTime} outside tests). */
  public RateLimiter(GatePolicy.RateLimit rate, int maxKeys, LongSupplier nanoClock) {
    if (maxKeys < 1) {
      throw new IllegalArgumentException("maxKeys must be at least 1");
    }
    this.rate = rate;
    this.periodNanos = rate.per().toNanos();
    this.maxKeys = maxKeys;
    this.nanoClock = nanoClock;
  }

  public GatePolicy.RateLimit rate() {
    return rate;
  }

  /** Takes one token from {@code client}'s bucket. A {@code null} client shares one bucket with all unknown ones. */
  public Permit acquire(InetAddress client) {
    Key key = key(client);
    long now = nanoClock.getAsLong();
    synchronized (buckets) {
      sweep(now);
      Bucket bucket = buckets.get(key);
      if (bucket == null) {
        if (buckets.size() >= maxKeys) {
          Iterator<Bucket> eldest = buckets.values().iterator();
          eldest.next();
          eldest.remove();
        }
        bucket = new Bucket();
        bucket.windowStart = now;
        bucket.tokens = rate.requests();
        buckets.put(key, bucket);
      } else if (now - bucket.windowStart >= periodNanos) {
        long periods = (now - bucket.windowStart) / periodNanos;
        bucket.windowStart += periods * periodNanos;
        bucket.tokens = rate.requests();
      }
      if (bucket.tokens > 0) {
        bucket.tokens--;
        return Permit.OK;
      }
      long waitNanos = bucket.windowStart + periodNanos - now;
      long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
      return new Permit(false, seconds);
    }
  }

  /** Drops up to {@link #SWEEP} least recently used buckets whose period has run out. */
  private void sweep(long now) {
    Iterator<Bucket> it = buckets.values().iterator();
    for (int i = 0; i < SWEEP && it.hasNext(); i++) {
      Bucket b = it.next();
      if (now - b.windowStart < periodNanos) {
        return;
      }
      it.remove();
    }
  }

  /** Buckets held now (for tests and {@code serve list}). */
  public int size() {
    synchronized (buckets) {
      return buckets.size();
    }
  }

  public int maxKeys() {
    return maxKeys;
  }

  private static Key key(InetAddress client) {
    if (client == null) {
      return new Key(false, -1L);
    }
    byte[] bytes = NetworkRule.unmapped(client).getAddress();
    if (bytes.length == 4) {
      return new Key(false, ((bytes[0] & 0xffL) << 24) | ((bytes[1] & 0xffL) << 16) | ((bytes[2] & 0xffL) << 8)
          | (bytes[3] & 0xffL));
    }
    long prefix = 0;
    for (int i = 0; i < 8; i++) {
      prefix = (prefix << 8) | (bytes[i] & 0xffL);
    }
    return new Key(true, prefix);
  }

  @Override
  public String toString() {
    return rate + " per client address";
  }

  /** For tests: the bucket table (a copy of its keys' count by family). */
  Map<Boolean, Long> familyCounts() {
    synchronized (buckets) {
      Map<Boolean, Long> counts = new LinkedHashMap<>();
      buckets.keySet().forEach(k -> counts.merge(k.v6(), 1L, Long::sum));
      return counts;
    }
  }
}
