package dev.funnel.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Response-rate limiting for UDP (the answers a spoofed source could aim at a victim): a token
 * bucket per source prefix, /24 for IPv4 and /56 for IPv6 (one customer network each), refilled at
 * {@code rate} a second up to {@code burst}. Over the limit a query is dropped, except every
 * {@code slip}-th one, which gets an empty truncated answer: a real client behind that prefix asks
 * again over TCP, which cannot be spoofed (the BIND RRL design).
 *
 * <p>Remembers at most {@code maxSources} prefixes; when full, the ones whose bucket has refilled
 * (idle) are forgotten first, then, if still full, all of them. Time is passed in. Not thread-safe:
 * used from the DNS verticle's event loop only.
 */
final class RateLimiter {

  enum Decision {
    ALLOW, DROP, SLIP
  }

  private static final class Bucket {
    double tokens;
    long updatedNanos;
    int limited;
  }

  private final double rate;
  private final double burst;
  private final int slip;
  private final int maxSources;
  private final Map<Long, Bucket> buckets = new HashMap<>();

  /** {@code rate} 0 turns limiting off. */
  RateLimiter(int rate, int burst, int slip, int maxSources) {
    this.rate = rate;
    this.burst = Math.max(1, Math.max(rate, burst));
    this.slip = Math.max(0, slip);
    this.maxSources = Math.max(1, maxSources);
  }

  Decision check(InetAddress source, long nowNanos) {
    if (rate <= 0) {
      return Decision.ALLOW;
    }
    long key = prefix(source);
    Bucket bucket = buckets.get(key);
    if (bucket == null) {
      if (buckets.size() >= maxSources) {
        forgetIdle(nowNanos);
      }
      bucket = new Bucket();
      bucket.tokens = burst;
      bucket.updatedNanos = nowNanos;
      buckets.put(key, bucket);
    }
    refill(bucket, nowNanos);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      bucket.limited = 0;
      return Decision.ALLOW;
    }
    bucket.limited++;
    return slip > 0 && bucket.limited % slip == 0 ? Decision.SLIP : Decision.DROP;
  }

  int sources() {
    return buckets.size();
  }

  private void refill(Bucket bucket, long nowNanos) {
    long elapsed = Math.max(0, nowNanos - bucket.updatedNanos);
    bucket.tokens = Math.min(burst, bucket.tokens + elapsed * rate / 1e9);
    bucket.updatedNanos = nowNanos;
  }

  private void forgetIdle(long nowNanos) {
    for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
      Bucket b = it.next();
      refill(b, nowNanos);
      if (b.tokens >= burst) {
        it.remove();
      }
    }
    if (buckets.size() >= maxSources) {
      buckets.clear();
    }
  }

  /** The source's prefix as a key: IPv4 /24 tagged with bit 60, IPv6 /56 (its first 7 bytes). */
  static long prefix(InetAddress source) {
    byte[] a = source.getAddress();
    if (source instanceof Inet4Address) {
      return (1L << 60) | ((a[0] & 0xFFL) << 16) | ((a[1] & 0xFFL) << 8) | (a[2] & 0xFFL);
    }
    long key = 0;
    for (int i = 0; i < 7; i++) {
      key = (key << 8) | (a[i] & 0xFFL);
    }
    return key;
  }
}
