package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The offers this node answered while a probe runs (source address, port, answer), so it can tell
 * the probe's own tunnel from other traffic: the frontend reports the probe connection's source
 * address, which the offer carries as {@code funnel-ingress-src}. Recording is on only while a
 * probe is in flight (one volatile read per offer otherwise) and bounded to {@link #MAX} entries.
 * Thread-safe.
 */
final class OfferLog {

  static final int MAX = 64;

  private record Seen(String host, int port, int publicPort, int status) {
  }

  private final Deque<Seen> seen = new ArrayDeque<>();
  private volatile int watchers;

  synchronized void watch() {
    watchers++;
  }

  synchronized void unwatch() {
    watchers = Math.max(0, watchers - 1);
    if (watchers == 0) {
      seen.clear();
    }
  }

  /** Called for every answered offer (any loop); records it only while watched. */
  void answered(HostPort source, int publicPort, int status) {
    if (watchers == 0 || source == null) {
      return;
    }
    synchronized (this) {
      seen.addLast(new Seen(strip(source.host()), source.port(), publicPort, status));
      while (seen.size() > MAX) {
        seen.removeFirst();
      }
    }
  }

  /** The answer given to the offer from {@code source} ("HOST:PORT") for {@code publicPort}; 0 if none was seen. */
  synchronized int statusFor(String source, int publicPort) {
    if (source == null) {
      return 0;
    }
    HostPort wanted;
    try {
      wanted = HostPort.parse(source);
    } catch (IllegalArgumentException e) {
      return 0;
    }
    for (Seen s : seen) {
      if (s.port() == wanted.port() && s.publicPort() == publicPort && s.host().equals(strip(wanted.host()))) {
        return s.status();
      }
    }
    return 0;
  }

  private static String strip(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
