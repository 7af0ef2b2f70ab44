package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.ServeTarget;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the node keeps of the offers it answered. The log lines: refusals within one {@link LogLimit}
 * (anyone on the internet decides how many offers come), and each local target's outages as one
 * {@link OutageLog} (a WARNING when it stops answering, an INFO when it answers again). And while a
 * probe runs, the answers themselves (source address, port, answer), so the probe can tell its own
 * tunnel from other traffic: the frontend reports the probe connection's source address, which the
 * offer carries as {@code funnel-ingress-src}. Recording is on only while a probe is in flight (one
 * volatile read per offer otherwise) and bounded to {@link #MAX} entries. Thread-safe.
 */
final class OfferLog {

  static final int MAX = 64;
  /** Targets in an outage at once; past it the map starts again (targets change only by serve changes). */
  static final int MAX_TARGETS = 64;

  private static final System.Logger LOG = System.getLogger(IngressStream.class.getName());

  private final LogLimit refusals = new LogLimit();
  /** Connections that offer only acme-tls/1 during an order: a budget of their own, so refusals never hide one. */
  private final LogLimit validations = new LogLimit();
  /** The local targets in an outage now. */
  private final Map<String, OutageLog> outages = new ConcurrentHashMap<>();
  /** One budget for every outage's lines: a target that flaps on every tunnel begins a new outage each time. */
  private final LogLimit outageLines = new LogLimit();

  private record Seen(String host, int port, int publicPort, int status) {
  }

  private final Deque<Seen> seen = new ArrayDeque<>();
  private volatile int watchers;

  /** Logs a refused offer, within the budget. */
  void refused(int status, String reason) {
    refusals.log(LOG, Level.INFO, "refusals", () -> "ingress offer answered " + status + ": " + reason + "; rejecting");
  }

  /**
   * Logs a connection that offered only {@code acme-tls/1} while an order waits (the CA's
   * validation, or anyone who says so: the challenge certificate is all they get), within the budget.
   */
  void validation() {
    validations.log(LOG, Level.INFO, "such lines",
        () -> "ACME tls-alpn-01 validation connection: answered with the challenge certificate");
  }

  /** Logs a stream answered 200 before its target was reached (an ACME order waits) that ended, within the budget. */
  void ended(String reason) {
    refusals.log(LOG, Level.INFO, "refusals", () -> "ingress stream (answered 200 while an ACME order waits) ended: "
        + reason);
  }

  /** The local target of public port {@code port} failed a tunnel: its outage goes on, or begins (a WARNING). */
  void targetFailed(int port, ServeTarget target, String reason) {
    if (outages.size() >= MAX_TARGETS) {
      outages.clear();
    }
    outages.computeIfAbsent(port + " " + target, k -> new OutageLog(LOG, "port " + port + ": local target " + target,
        "answering 503 (clients' connections are closed)", outageLines)).failed(reason);
  }

  /**
   * The local target of public port {@code port} took a tunnel: an outage ends (an INFO line). Only
   * targets in an outage are in the map, so while none is this is one read of its size.
   */
  void targetAnswered(int port, ServeTarget target) {
    if (outages.isEmpty()) {
      return;
    }
    OutageLog ended = outages.remove(port + " " + target);
    if (ended != null) {
      ended.answered();
    }
  }

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
