package dev.funnel.registry;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * When each node's certificate expires, as its gateway last reported it ({@code NodeCertReport}), in
 * memory only: unknown again after a restart until the node's next session. Kept only for nodes
 * this registry knows.
 */
final class CertificateExpiries {

  private static final long DAY_SECONDS = 86_400L;

  /** Nodes' certificate expiries (epoch seconds). */
  private final Map<String, Long> notAfter = new ConcurrentHashMap<>();
  private final Predicate<String> known;

  /** @param known whether a node id is one this registry knows */
  CertificateExpiries(Predicate<String> known) {
    this.known = known;
  }

  /** A gateway's report: kept for a known node, ignored otherwise. */
  void reported(String nodeId, long notAfterEpochSeconds) {
    if (nodeId != null && known.test(nodeId)) {
      notAfter.put(nodeId, notAfterEpochSeconds);
    }
  }

  /** When the node's certificate expires; null while unknown. */
  Instant of(String nodeId) {
    Long seconds = notAfter.get(nodeId);
    return seconds == null ? null : Instant.ofEpochSecond(seconds);
  }

  /** Whole days from {@code now} until {@code notAfter}, rounded down (negative once expired); null when unknown. */
  static Long daysLeft(Instant notAfter, Instant now) {
    return notAfter == null ? null : Math.floorDiv(notAfter.getEpochSecond() - now.getEpochSecond(), DAY_SECONDS);
  }
}
