package dev.funnel.frontend;

import io.netty.util.NetUtil;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Admission at accept time, before a single byte is read: a global cap on open connections, a cap
 * per source, and a token bucket per source for the rate of new connections. A refused connection
 * is closed at once and costs no parse, no timer and no buffer.
 *
 * <p>A <em>source</em> is an IPv4 address, or the /64 an IPv6 address belongs to (one customer
 * line holds a whole /64, so counting single IPv6 addresses would let one attacker be 2^64
 * sources). IPv4-mapped IPv6 addresses count as their IPv4 address.
 *
 * <p>Memory is bounded whatever the traffic: the open-connection counts hold only sources with at
 * least one open connection (at most {@code maxConnections} of them), and the buckets are an
 * access-ordered map of at most {@code maxTrackedSources}. A bucket that has refilled completely
 * is the same as no bucket, so buckets untouched for one full refill time are dropped on the next
 * admission (oldest first, in O(dropped)); when the map is full anyway the least recently seen is
 * forgotten, which can only make the limiter more lenient towards that source, never refuse an
 * honest one.
 *
 * <p>Thread-safe (one lock): the frontend's verticles on different event loops share one limiter.
 * Each admission is a few map operations under it.
 */
final class ConnectionLimiter {

  /** Why a connection was or was not admitted. */
  enum Verdict {
    ADMITTED,
    /** The source's token bucket is empty: it opens connections faster than allowed. */
    RATE_LIMITED,
    /** The source already holds its cap of open connections. */
    SOURCE_LIMIT,
    /** The frontend holds its global cap of open connections. */
    SERVER_FULL
  }

  /** The limits; see {@code FrontendOptions} for defaults and meaning. */
  record Limits(int maxConnections, int maxConnectionsPerSource, double ratePerSecond, int burst, int maxTrackedSources) {
    Limits {
      if (maxConnections < 1 || maxConnectionsPerSource < 1 || ratePerSecond <= 0 || burst < 1 || maxTrackedSources < 1) {
        throw new IllegalArgumentException("connection limits must be positive: " + this);
      }
    }
  }

  private static final class Bucket {
    double tokens;
    long touchedNanos;

    Bucket(double tokens, long touchedNanos) {
      this.tokens = tokens;
      this.touchedNanos = touchedNanos;
    }
  }

  private final Limits limits;
  private final LongSupplier nanoClock;
  /** Nanoseconds for an empty bucket to fill up: an older untouched bucket is full, so forgettable. */
  private final long refillNanos;
  private final LinkedHashMap<String, Bucket> buckets;
  private final Map<String, Integer> open = new HashMap<>();
  private int total;

  ConnectionLimiter(Limits limits, LongSupplier nanoClock) {
    this.limits = limits;
    this.nanoClock = nanoClock;
    this.refillNanos = (long) Math.ceil(limits.burst() / limits.ratePerSecond() * 1e9);
    this.buckets = new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
        return size() > limits.maxTrackedSources();
      }
    };
  }

  /**
   * Decides on a new connection from {@code source} (see {@link #sourceOf}). When the answer is
   * {@link Verdict#ADMITTED} the connection is counted, and the caller must call {@link #release}
   * with the same source exactly once, when it closes.
   */
  synchronized Verdict admit(String source) {
    long now = nanoClock.getAsLong();
    forgetIdle(now);
    if (total >= limits.maxConnections()) {
      return Verdict.SERVER_FULL;
    }
    if (open.getOrDefault(source, 0) >= limits.maxConnectionsPerSource()) {
      return Verdict.SOURCE_LIMIT;
    }
    Bucket bucket = buckets.get(source);
    if (bucket == null) {
      bucket = new Bucket(limits.burst(), now);
      buckets.put(source, bucket);
    } else {
      double refill = (now - bucket.touchedNanos) / 1e9 * limits.ratePerSecond();
      bucket.tokens = Math.min(limits.burst(), bucket.tokens + refill);
      bucket.touchedNanos = now;
    }
    if (bucket.tokens < 1) {
      return Verdict.RATE_LIMITED;
    }
    bucket.tokens -= 1;
    open.merge(source, 1, Integer::sum);
    total++;
    return Verdict.ADMITTED;
  }

  /** An admitted connection from {@code source} closed. */
  synchronized void release(String source) {
    Integer count = open.get(source);
    if (count == null) {
      return;
    }
    if (count <= 1) {
      open.remove(source);
    } else {
      open.put(source, count - 1);
    }
    total--;
  }

  /** Connections admitted and not yet released. */
  synchronized int openConnections() {
    return total;
  }

  /** Sources with a remembered bucket (bounded by {@code maxTrackedSources}). */
  synchronized int trackedSources() {
    return buckets.size();
  }

  /** Sources holding at least one open connection (bounded by {@code maxConnections}). */
  synchronized int openSources() {
    return open.size();
  }

  /** Drops buckets untouched for a full refill time, oldest first; stops at the first younger one. */
  private void forgetIdle(long now) {
    Iterator<Bucket> oldestFirst = buckets.values().iterator();
    while (oldestFirst.hasNext()) {
      if (now - oldestFirst.next().touchedNanos < refillNanos) {
        return;
      }
      oldestFirst.remove();
    }
  }

  /**
   * The source key of a remote address: the IPv4 address; the /64 prefix of an IPv6 address
   * ({@code 2001:db8:1:2::/64}); an IPv4-mapped IPv6 address as its IPv4 address; anything else
   * (null, a domain socket) as itself.
   */
  static String sourceOf(String host) {
    if (host == null) {
      return "unknown";
    }
    String ip = host;
    int zone = ip.indexOf('%');
    if (zone >= 0) {
      ip = ip.substring(0, zone);
    }
    if (ip.startsWith("[") && ip.endsWith("]")) {
      ip = ip.substring(1, ip.length() - 1);
    }
    if (NetUtil.isValidIpV4Address(ip)) {
      return ip;
    }
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(ip);
    if (bytes == null) {
      return host.toLowerCase(Locale.ROOT);
    }
    if (bytes.length == 4) {
      return (bytes[0] & 0xff) + "." + (bytes[1] & 0xff) + "." + (bytes[2] & 0xff) + "." + (bytes[3] & 0xff);
    }
    boolean mapped = true;
    for (int i = 0; i < 10 && mapped; i++) {
      mapped = bytes[i] == 0;
    }
    if (mapped && bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff) {
      return (bytes[12] & 0xff) + "." + (bytes[13] & 0xff) + "." + (bytes[14] & 0xff) + "." + (bytes[15] & 0xff);
    }
    StringBuilder prefix = new StringBuilder();
    for (int i = 0; i < 8; i += 2) {
      prefix.append(Integer.toHexString((bytes[i] & 0xff) << 8 | (bytes[i + 1] & 0xff))).append(':');
    }
    return prefix.append(":/64").toString();
  }
}
