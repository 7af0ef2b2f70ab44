package dev.funnel.registry;

import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.registry.LiveSessions.Live;
import java.util.List;

/**
 * Whether the registry accepts a node's report that one of its sessions was lost
 * ({@link SessionLossReport}). Pure: the report and the node's live sessions in, a verdict out.
 *
 * <p>The node's identity is what the reporting gateway says it is (it authenticated the node at
 * login and fills {@code nodeId} from its own session), and the registry checks the gateway's word
 * against its own table. Accepted only when, in this order:
 * <ol>
 *   <li>every field is there (node, both gateways, both epochs);</li>
 *   <li>the lost session and the one reporting are on different gateways;</li>
 *   <li>the reporting gateway holds a live session of this node at the epoch it gives: so only a
 *       node's own sessions can be reported, never another node's;</li>
 *   <li>the lost session is a live session of this node (else there is nothing to withdraw).</li>
 * </ol>
 */
final class SessionLossRule {

  private SessionLossRule() {
  }

  sealed interface Verdict {
  }

  /** Withdraw {@code lost}. */
  record Accepted(Live lost) implements Verdict {
  }

  /**
   * Refused, with the code the gateway hears and the reason for the log. {@code notFound}: a
   * session was missing from the sessions judged, which a fresher read of the table might change.
   */
  record Rejected(LoginFailure failure, String reason, boolean notFound) implements Verdict {
  }

  /** Judges {@code report} against {@code nodeSessions}: the live sessions of the node it names. */
  static Verdict judge(SessionLossReport report, List<Live> nodeSessions) {
    if (blank(report.nodeId()) || blank(report.lostGatewayId()) || blank(report.viaGatewayId())
        || report.lostEpoch() <= 0 || report.viaEpoch() <= 0) {
      return new Rejected(LoginFailure.BAD_REQUEST, "incomplete report (node, both gateways and both epochs needed)",
          false);
    }
    if (report.lostGatewayId().equals(report.viaGatewayId())) {
      return new Rejected(LoginFailure.BAD_REQUEST, "a session cannot be reported lost through its own gateway "
          + report.viaGatewayId(), false);
    }
    if (SessionLists.find(nodeSessions, report.viaGatewayId(), report.viaEpoch()) == null) {
      return new Rejected(LoginFailure.BAD_REQUEST, "reporting gateway " + report.viaGatewayId()
          + " holds no live session of node " + report.nodeId() + " at epoch " + report.viaEpoch(), true);
    }
    Live lost = SessionLists.find(nodeSessions, report.lostGatewayId(), report.lostEpoch());
    if (lost == null) {
      return new Rejected(LoginFailure.LEASE_UNKNOWN, "node " + report.nodeId() + " has no live session on "
          + report.lostGatewayId() + " at epoch " + report.lostEpoch(), true);
    }
    return new Accepted(lost);
  }

  private static boolean blank(String s) {
    return s == null || s.isEmpty();
  }
}
