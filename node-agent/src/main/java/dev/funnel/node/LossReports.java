package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Sessions of this node lost without their gateway saying Bye, waiting to be reported through
 * another session that is up (never through the lost session's own gateway), so the registry
 * withdraws that route at once instead of when the cluster notices. Bounded: the oldest report goes
 * past {@link #MAX_LOSSES_TO_REPORT}, and one not sent within {@link #LOSS_REPORT_MAX_AGE_MILLIS} is
 * dropped (the registry has withdrawn the route by its lease by then). Event loop only.
 */
final class LossReports {

  /** The agent's logger: these lines were always the agent's. */
  private static final System.Logger LOG = System.getLogger(NodeAgentVerticle.class.getName());

  /** Lost sessions kept for reporting while no other session is up; past this the oldest is dropped. */
  static final int MAX_LOSSES_TO_REPORT = 8;
  /** A loss not reported within this is dropped (the registry has withdrawn it by its lease by then). */
  static final long LOSS_REPORT_MAX_AGE_MILLIS = 60_000;

  /** A session that is up, as far as reporting a loss through it goes. */
  interface Witness {
    /** The gateway id its Welcome named, or null. */
    String gatewayId();

    HostPort server();

    void reportLost(SessionLost lost);
  }

  private record Pending(SessionLost lost, long atNanos) {
  }

  /** Oldest first. */
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();

  /** Keeps {@code lost} (at {@code nowNanos}) for reporting, dropping the oldest past the bound. */
  void add(SessionLost lost, long nowNanos) {
    pending.addLast(new Pending(lost, nowNanos));
    while (pending.size() > MAX_LOSSES_TO_REPORT) {
      pending.removeFirst();
    }
  }

  /**
   * Sends every pending loss through each of {@code up} but the lost session's own gateway; a loss
   * sent through at least one is done, the others wait for the next session to come up. Drops the
   * ones older than the bound first.
   */
  void reportThrough(List<? extends Witness> up, long nowNanos) {
    pending.removeIf(p -> nowNanos - p.atNanos() > TimeUnit.MILLISECONDS.toNanos(LOSS_REPORT_MAX_AGE_MILLIS));
    pending.removeIf(p -> {
      boolean sent = false;
      for (Witness s : up) {
        if (!p.lost().gatewayId().equals(s.gatewayId())) {
          s.reportLost(p.lost());
          sent = true;
          LOG.log(Level.INFO, "reported the loss of the session on {0} (epoch {1}) through {2}",
              p.lost().gatewayId(), p.lost().epoch(), s.server());
        }
      }
      return sent;
    });
  }

  /** How many losses wait to be reported. */
  int waiting() {
    return pending.size();
  }
}
