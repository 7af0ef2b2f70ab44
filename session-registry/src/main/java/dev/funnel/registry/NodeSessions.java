package dev.funnel.registry;

import static dev.funnel.registry.Refusals.refuse;

import dev.funnel.common.PublicPorts;
import dev.funnel.common.bus.AcmeChallengeRequest;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.store.NodeIdentity;
import io.vertx.core.Future;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What happens to a node's live sessions after its login: renewals, closes, losses reported by the
 * node, withdrawals announced by other registries, ports updates, its ACME dns-01 values, and the
 * lease sweep.
 */
final class NodeSessions {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private final RegistryState state;
  private final SessionTable sessions;
  private final Withdrawals withdrawals;
  private final NodeViews views;

  NodeSessions(RegistryState state, Withdrawals withdrawals, NodeViews views) {
    this.state = state;
    this.sessions = state.sessions;
    this.withdrawals = withdrawals;
    this.views = views;
  }

  /** Why a list of ports is not all Funnel ports, or null. */
  static String badPort(List<Integer> ports) {
    for (Integer port : ports) {
      if (port == null || !PublicPorts.isAllowed(port)) {
        return "port " + port + " is not a Funnel port (443, 8443, 10000)";
      }
    }
    return null;
  }

  /** See {@link RegistryService#renew}. */
  Future<LeaseRenewal.Ack> renew(LeaseRenewal renewal) {
    long now = System.currentTimeMillis();
    long expiresAt = now + state.options.getLeaseMillis();
    if (renewal.nodeId() == null || renewal.gatewayId() == null) {
      return Future.failedFuture(LoginFailure.LEASE_UNKNOWN.exception("no such lease"));
    }
    return sessions.renew(renewal.nodeId(), renewal.gatewayId(), renewal.epoch(), now, expiresAt)
        .compose(renewed -> renewed.map(l -> Future.succeededFuture(new LeaseRenewal.Ack(l.expiresAt())))
        .orElseGet(() -> {
          LOG.log(Level.DEBUG, "renewal of node {0} epoch {1} via {2}: no such live lease; rejecting",
              renewal.nodeId(), renewal.epoch(), renewal.gatewayId());
          return Future.failedFuture(LoginFailure.LEASE_UNKNOWN.exception("no live lease for node " + renewal.nodeId()
              + " epoch " + renewal.epoch() + " on " + renewal.gatewayId() + "; log in again"));
        }));
  }

  /** See {@link RegistryService#sessionClosed}. */
  Future<Boolean> sessionClosed(SessionClosed closed) {
    if (closed.nodeId() == null || closed.gatewayId() == null) {
      return Future.succeededFuture(false);
    }
    return sessions.remove(closed.nodeId(), closed.gatewayId(), closed.epoch()).map(removed -> {
      removed.ifPresent(l -> {
        LOG.log(Level.INFO, "node {0} session on {1} (epoch {2}) closed", l.fqdn(), l.gatewayId(), l.epoch());
        withdrawals.withdrawn(l);
      });
      return removed.isPresent();
    });
  }

  /** See {@link RegistryService#sessionLost}. */
  Future<Void> sessionLost(SessionLossReport report) {
    long now = System.currentTimeMillis();
    SessionLossRule.Verdict first = report.nodeId() == null ? SessionLossRule.judge(report, List.of())
        : SessionLossRule.judge(report, sessions.live(report.nodeId(), now));
    // A session another registry recorded a moment ago may not be in this view yet: read the table once.
    Future<SessionLossRule.Verdict> verdict = first instanceof SessionLossRule.Rejected r && r.notFound()
        ? sessions.fetch(report.nodeId(), now).map(fetched -> SessionLossRule.judge(report, fetched))
        : Future.succeededFuture(first);
    String where = "report of node " + report.nodeId() + " via " + report.viaGatewayId() + " that its session on "
        + report.lostGatewayId() + " (epoch " + report.lostEpoch() + ") was lost";
    return verdict.compose(v -> {
      if (v instanceof SessionLossRule.Rejected rejected) {
        return refuse(where, rejected.failure(), rejected.reason());
      }
      Live lost = ((SessionLossRule.Accepted) v).lost();
      LOG.log(Level.INFO, "node {0} lost its session on {1} (epoch {2}): {3}; reported via {4}; route withdrawn",
          lost.fqdn(), lost.gatewayId(), lost.epoch(), report.reason(), report.viaGatewayId());
      withdrawals.withdrawn(lost);
      sessions.remove(lost.nodeId(), lost.gatewayId(), lost.epoch())
          .onFailure(err -> LOG.log(Level.WARNING, "removing node " + lost.nodeId() + "'s lost session on "
              + lost.gatewayId() + " from the shared table failed: " + err + "; its lease will lapse"));
      return Future.succeededFuture();
    });
  }

  /** See {@link RegistryService#sessionWithdrawn}. */
  void sessionWithdrawn(SessionWithdrawn withdrawn) {
    if (withdrawn.nodeId() != null && withdrawn.gatewayId() != null) {
      sessions.markWithdrawn(withdrawn.nodeId(), withdrawn.gatewayId(), withdrawn.epoch());
    }
  }

  /** See {@link RegistryService#updatePorts}. */
  Future<NodeSession> updatePorts(PortsUpdate update) {
    String badPort = badPort(update.ports());
    if (badPort != null) {
      return refuse("ports update of " + update.nodeId(), LoginFailure.BAD_REQUEST, badPort);
    }
    List<Integer> ports = PublicPorts.sorted(Set.copyOf(update.ports()));
    long now = System.currentTimeMillis();
    Future<Optional<Live>> change = update.nodeId() == null || update.gatewayId() == null
        ? Future.succeededFuture(Optional.empty())
        : sessions.updatePorts(update.nodeId(), update.gatewayId(), update.epoch(), ports, now,
            now + state.options.getLeaseMillis());
    return change.compose(changed -> {
      if (changed.isEmpty()) {
        return refuse("ports update of " + update.nodeId(), LoginFailure.LEASE_UNKNOWN,
            "no live lease for node " + update.nodeId() + " epoch " + update.epoch() + "; log in again");
      }
      Live l = changed.get();
      withdrawals.routeChanged(l.fqdn());
      LOG.log(Level.INFO, "node {0} now funnels ports {1}", l.fqdn(), ports);
      String tailnet = state.nodeById(l.nodeId()).map(NodeIdentity::tailnet).orElse("");
      return Future.succeededFuture(new NodeSession(l.nodeId(), l.fqdn(), tailnet, l.epoch(), ports,
          state.options.getLeaseMillis(), views.refusedPorts(tailnet, ports)));
    });
  }

  /** See {@link RegistryService#acmeChallenge}. */
  Future<Void> acmeChallenge(AcmeChallengeRequest request) {
    String where = "ACME challenge of node " + request.nodeId();
    if (request.name() == null || request.value() == null || request.value().isEmpty()
        || request.value().length() > 255) {
      return refuse(where, LoginFailure.BAD_REQUEST, "malformed challenge (name and a value of 1-255 characters)");
    }
    long now = System.currentTimeMillis();
    Optional<Live> live = request.nodeId() == null ? Optional.empty()
        : sessions.live(request.nodeId(), now).stream()
            .filter(l -> l.gatewayId().equals(request.gatewayId()) && l.epoch() == request.epoch()).findFirst();
    if (live.isEmpty()) {
      return refuse(where, LoginFailure.LEASE_UNKNOWN, "no live session of node " + request.nodeId() + " on "
          + request.gatewayId() + " epoch " + request.epoch());
    }
    String own = live.get().fqdn();
    String name = request.name().toLowerCase(Locale.ROOT);
    if (!name.equals(own)) {
      return refuse(where, LoginFailure.BAD_REQUEST, "a node may set _acme-challenge only for its own name " + own);
    }
    state.vertx.eventBus().publish(Addresses.DNS_CHALLENGE, new DnsChallenge(own, request.value(), request.present()));
    LOG.log(Level.INFO, "ACME dns-01 value for {0} {1}", own, request.present() ? "set" : "removed");
    return Future.succeededFuture();
  }

  /** See {@link RegistryService#sweep}. */
  Future<Integer> sweep() {
    return sessions.sweep(System.currentTimeMillis()).map(expired -> {
      for (Live l : expired) {
        LOG.log(Level.INFO, "node {0} lease on {1} (epoch {2}) lapsed; route withdrawn", l.fqdn(), l.gatewayId(),
            l.epoch());
        withdrawals.withdrawn(l);
      }
      return expired.size();
    });
  }
}
