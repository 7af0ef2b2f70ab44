package dev.funnel.registry;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.TailnetPolicy;
import dev.funnel.registry.store.Tailnet;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.store.NodeIdentity;
import io.vertx.core.Vertx;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * Takes sessions out of routing and tells everyone: a name's route changed
 * ({@link Addresses#ROUTES_CHANGED}), one session is no longer routed
 * ({@link Addresses#SESSION_WITHDRAWN}, out of this registry's view at once), or a node's sessions
 * are kicked ({@link Addresses#SESSION_KICK}).
 */
final class Withdrawals {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private final RegistryState state;
  private final Vertx vertx;
  private final SessionTable sessions;

  Withdrawals(RegistryState state) {
    this.state = state;
    this.vertx = state.vertx;
    this.sessions = state.sessions;
  }

  void routeChanged(String fqdn) {
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, new RouteChanged(fqdn));
  }

  /** Every cached route may be stale (a tailnet changed, the snapshot was reloaded). */
  void allRoutesChanged() {
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
  }

  /** A tailnet's Funnel switch or ports changed: gateways tell its nodes ({@link Addresses#TAILNET_CHANGED}). */
  void policyChanged(Tailnet tailnet) {
    vertx.eventBus().publish(Addresses.TAILNET_CHANGED, new TailnetPolicy(tailnet.name(), tailnet.funnel(),
        tailnet.ports()));
  }

  /**
   * One session is no longer routed: out of this registry's view at once, and everyone told
   * ({@link Addresses#SESSION_WITHDRAWN}; frontends fail opens waiting on it, other registries drop
   * it from their views) together with the route change for its name.
   */
  void withdrawn(Live l) {
    sessions.markWithdrawn(l.nodeId(), l.gatewayId(), l.epoch());
    vertx.eventBus().publish(Addresses.SESSION_WITHDRAWN, new SessionWithdrawn(l.nodeId(), l.fqdn(), l.gatewayId(),
        l.epoch()));
    routeChanged(l.fqdn());
  }

  /**
   * Tells every gateway to close the node's sessions, drops them here and withdraws the route. From
   * blocking code holding the write lock.
   */
  void kick(NodeIdentity node, String reason) {
    vertx.eventBus().publish(Addresses.SESSION_KICK, new SessionKick(node.id(), reason));
    List<Live> dropped = state.awaitTable(sessions.removeNode(node.id()));
    dropped.forEach(this::withdrawn);
    routeChanged(node.fqdn(state.domain));
    if (!dropped.isEmpty()) {
      LOG.log(Level.INFO, "node {0}: {1}; {2} sessions kicked", node.shortName(), reason, dropped.size());
    }
  }
}
