package dev.funnel.registry;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.Future;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * A cluster member left: say so ({@link Addresses#REGISTRY_LEFT} for a registry,
 * {@link Addresses#GATEWAY_LEFT} for each of its gateways) and withdraw at once every session its
 * gateways held (their leases would otherwise take up to a lease period to lapse).
 */
final class MemberDepartures {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private final RegistryState state;
  private final Withdrawals withdrawals;
  private final FunnelCluster cluster;

  MemberDepartures(RegistryState state, Withdrawals withdrawals, FunnelCluster cluster) {
    this.state = state;
    this.withdrawals = withdrawals;
    this.cluster = cluster;
  }

  /** Called on a Hazelcast event thread. */
  void left(String member) {
    state.vertx.executeBlocking(() -> ClusterSessionTable.wasRegistry(cluster.hazelcast(), member), false)
        .onSuccess(registry -> {
          if (registry) {
            LOG.log(Level.WARNING, "registry {0} left the cluster", member);
            state.vertx.eventBus().publish(Addresses.REGISTRY_LEFT, member);
          }
        });
    state.vertx.executeBlocking(() -> ClusterSessionTable.gatewaysOf(cluster.hazelcast(), member), false)
        .onSuccess(gateways -> gateways.forEach(id -> state.vertx.eventBus().publish(Addresses.GATEWAY_LEFT, id)))
        .compose(gateways -> gateways.isEmpty() ? Future.succeededFuture(List.<Live>of())
            : state.sessions.removeGateways(gateways).onSuccess(removed -> LOG.log(Level.WARNING,
                "gateway(s) {0} left the cluster with member {1}; {2} session(s) withdrawn", gateways, member,
                removed.size())))
        .onSuccess(removed -> removed.forEach(withdrawals::withdrawn))
        .onFailure(err -> LOG.log(Level.WARNING, "withdrawing the sessions of member " + member + " failed: " + err
            + "; their leases will lapse"));
  }
}
