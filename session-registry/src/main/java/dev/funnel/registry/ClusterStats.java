package dev.funnel.registry;

import dev.funnel.common.bus.MemberStats;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What this registry heard of every service's {@link MemberStats} (published every
 * {@link MemberStats#PERIOD_MILLIS} on {@code funnel.ops.member-stats}): for {@code funnel admin
 * status} (members, tunnels, rates, refusals over the last minute) and for the public ports some
 * frontend listens on (a node funnelling a port no frontend listens on is told so). Bounded: per
 * member, the samples of the last {@link #HISTORY_MILLIS}; a member silent for
 * {@link #FORGET_MILLIS} is forgotten. Thread-safe (fed on an event loop, read by the admin API
 * and by logins on worker threads).
 */
final class ClusterStats {

  /** Samples kept per member: a minute of refusals plus a period of slack. */
  static final long HISTORY_MILLIS = 65_000;
  /** A member not heard for this long is not live (three periods). */
  static final long STALE_MILLIS = 3 * MemberStats.PERIOD_MILLIS;
  /** A member not heard for this long is dropped. */
  static final long FORGET_MILLIS = 60_000;
  /** New tunnels per second are taken over about this window. */
  static final long RATE_WINDOW_MILLIS = 10_000;
  static final long MINUTE_MILLIS = 60_000;

  record Sample(long atMillis, MemberStats stats) {
  }

  /** One member as {@code funnel admin status} shows it. */
  record Member(String id, String role, boolean ready, boolean live, long heardMillisAgo, List<Integer> publicPorts,
                long tunnelsOpen, int sessions) {
  }

  /** The cluster's figures at one moment. */
  record Summary(List<Member> members, long tunnelsOpen, double newTunnelsPerSecond,
                 Map<String, Long> refusalsLastMinute) {
  }

  private final Map<String, Deque<Sample>> byMember = new HashMap<>();
  private boolean anyFrontendHeard;

  synchronized void heard(MemberStats stats, long nowMillis) {
    if (stats == null || stats.memberId() == null) {
      return;
    }
    Deque<Sample> samples = byMember.computeIfAbsent(stats.memberId(), id -> new ArrayDeque<>());
    samples.addLast(new Sample(nowMillis, stats));
    while (samples.size() > 1 && nowMillis - samples.peekFirst().atMillis() > HISTORY_MILLIS) {
      samples.removeFirst();
    }
    // a few per period at most (several verticles of one process may publish under one id)
    while (samples.size() > 4 * HISTORY_MILLIS / MemberStats.PERIOD_MILLIS) {
      samples.removeFirst();
    }
    if ("frontend".equals(stats.role())) {
      anyFrontendHeard = true;
    }
    byMember.values().removeIf(s -> nowMillis - s.peekLast().atMillis() > FORGET_MILLIS);
  }

  /**
   * The public ports live, ready frontends listen on; null when no frontend was ever heard (then
   * nothing is known, and nothing should be claimed).
   */
  synchronized Set<Integer> listenedPorts(long nowMillis) {
    if (!anyFrontendHeard) {
      return null;
    }
    Set<Integer> ports = new TreeSet<>();
    for (Deque<Sample> samples : byMember.values()) {
      Sample last = samples.peekLast();
      if ("frontend".equals(last.stats().role()) && last.stats().ready()
          && nowMillis - last.atMillis() <= STALE_MILLIS) {
        ports.addAll(last.stats().publicPorts());
      }
    }
    return ports;
  }

  synchronized Summary summary(long nowMillis) {
    Map<String, List<Sample>> copy = new HashMap<>();
    byMember.forEach((id, samples) -> copy.put(id, List.copyOf(samples)));
    return summarise(copy, nowMillis);
  }

  /**
   * The figures from each member's samples (oldest first): tunnels open and new tunnels per second
   * from the frontends (the gateways' when no frontend reports: they count the same tunnels), and
   * refusals over the last minute from every member, as differences of cumulative counters (a
   * member that restarted, whose counters went down, counts from its restart). Live members only
   * for the sums.
   */
  static Summary summarise(Map<String, List<Sample>> byMember, long nowMillis) {
    List<Member> members = new ArrayList<>();
    long frontendOpen = 0;
    long gatewayOpen = 0;
    double frontendRate = 0;
    double gatewayRate = 0;
    boolean frontends = false;
    Map<String, Long> refusals = new TreeMap<>();
    for (Map.Entry<String, List<Sample>> entry : new TreeMap<>(byMember).entrySet()) {
      List<Sample> samples = entry.getValue();
      if (samples.isEmpty()) {
        continue;
      }
      Sample last = samples.get(samples.size() - 1);
      MemberStats s = last.stats();
      long ago = Math.max(0, nowMillis - last.atMillis());
      boolean live = ago <= STALE_MILLIS;
      members.add(new Member(entry.getKey(), s.role(), s.ready() && live, live, ago, s.publicPorts(), s.tunnelsOpen(),
          s.sessions()));
      if (!live) {
        continue;
      }
      double rate = rate(samples, nowMillis);
      if ("frontend".equals(s.role())) {
        frontends = true;
        frontendOpen += s.tunnelsOpen();
        frontendRate += rate;
      } else if ("gateway".equals(s.role())) {
        gatewayOpen += s.tunnelsOpen();
        gatewayRate += rate;
      }
      Sample first = baseline(samples, nowMillis - MINUTE_MILLIS);
      s.refusals().forEach((reason, count) -> {
        long before = first.stats().refusals().getOrDefault(reason, 0L);
        long delta = count >= before ? count - before : count;
        if (delta > 0) {
          refusals.merge(reason, delta, Long::sum);
        }
      });
    }
    members.sort(java.util.Comparator.comparing(Member::role).thenComparing(Member::id));
    return new Summary(members, frontends ? frontendOpen : gatewayOpen, frontends ? frontendRate : gatewayRate, refusals);
  }

  /** Tunnels opened per second over about {@link #RATE_WINDOW_MILLIS}; 0 with a single sample. */
  static double rate(List<Sample> samples, long nowMillis) {
    Sample last = samples.get(samples.size() - 1);
    Sample first = baseline(samples, nowMillis - RATE_WINDOW_MILLIS);
    long dt = last.atMillis() - first.atMillis();
    long dn = last.stats().tunnelsTotal() - first.stats().tunnelsTotal();
    return dt <= 0 || dn < 0 ? 0 : dn * 1000.0 / dt;
  }

  /**
   * What counts are measured from: the newest sample taken at or before {@code sinceMillis}, else
   * the oldest (a member younger than the window: it publishes once as it starts, so from about its
   * start). A single sample is its own baseline: nothing is claimed for a time not seen.
   */
  static Sample baseline(List<Sample> samples, long sinceMillis) {
    Sample base = samples.get(0);
    for (Sample s : samples) {
      if (s.atMillis() <= sinceMillis) {
        base = s;
      }
    }
    return base;
  }
}
