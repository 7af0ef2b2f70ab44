package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.bus.Addresses;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The admin's changes to tailnets and node identities (REST API and console alike), each under the
 * write lock: write the store, swap the snapshot, kick what it removed, publish; and the snapshot
 * reloaded when another registry changed the shared store ({@link Addresses#CONTROL_CHANGED}).
 */
final class ControlChanges {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private final RegistryState state;
  private final Withdrawals withdrawals;
  private final AliasService aliases;

  ControlChanges(RegistryState state, Withdrawals withdrawals, AliasService aliases) {
    this.state = state;
    this.withdrawals = withdrawals;
    this.aliases = aliases;
  }

  /** See {@link RegistryService#controlChanged}. */
  Future<Void> controlChanged(String fromRegistry) {
    if (state.registryId.equals(fromRegistry)) {
      return Future.succeededFuture();
    }
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        Snapshot reloaded = Snapshot.of(state.store.tailnets(), state.store.nodes());
        state.snapshot(reloaded);
        LOG.log(Level.DEBUG, "snapshot reloaded after a change by registry {0}: {1} tailnets, {2} nodes",
            fromRegistry, reloaded.tailnets().size(), reloaded.nodesById().size());
      }
      aliases.reloadBlocking();
      withdrawals.allRoutesChanged();
      return null;
    });
  }

  List<Tailnet> tailnets() {
    return state.snapshot().tailnets().values().stream().sorted(Comparator.comparing(Tailnet::name)).toList();
  }

  Future<Tailnet> tailnet(String name) {
    return state.tailnetNow(name).map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(AdminException.notFound("no tailnet " + name)));
  }

  Future<Tailnet> createTailnet(String name, boolean funnel, Set<Integer> ports) {
    if (!Hostnames.isLabel(name)) {
      return Future.failedFuture(AdminException.badRequest("tailnet name '" + name + "' is not a DNS label"));
    }
    Tailnet tailnet = new Tailnet(name, funnel, List.copyOf(new TreeSet<>(ports)), RegistryState.now());
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        if (!state.store.insertTailnet(tailnet)) {
          throw AdminException.conflict("tailnet " + name + " already exists");
        }
        state.snapshot(state.snapshot().withTailnet(tailnet));
        state.publishControlChanged();
        LOG.log(Level.INFO, "tailnet {0} added (funnel {1}, ports {2})", name, funnel ? "on" : "off", tailnet.ports());
        withdrawals.allRoutesChanged();
        return tailnet;
      }
    });
  }

  /** Changes funnel and/or ports (null: keep). */
  Future<Tailnet> updateTailnet(String name, Boolean funnel, Set<Integer> ports) {
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        Tailnet changed = state.store.updateTailnet(name, funnel, ports)
            .orElseThrow(() -> AdminException.notFound("no tailnet " + name));
        state.snapshot(state.snapshot().withTailnet(changed));
        state.publishControlChanged();
        LOG.log(Level.INFO, "tailnet {0} changed (funnel {1}, ports {2})", name, changed.funnel() ? "on" : "off",
            changed.ports());
        withdrawals.allRoutesChanged();
        withdrawals.policyChanged(changed);
        aliases.publishIfMoved();
        return changed;
      }
    });
  }

  /** Removes a tailnet with its keys and nodes, kicking every node's sessions. */
  Future<Void> deleteTailnet(String name) {
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        List<NodeIdentity> nodes = state.store.deleteTailnet(name)
            .orElseThrow(() -> AdminException.notFound("no tailnet " + name));
        state.snapshot(state.snapshot().withoutTailnet(name));
        state.publishControlChanged();
        LOG.log(Level.INFO, "tailnet {0} removed with {1} nodes", name, nodes.size());
        nodes.forEach(n -> withdrawals.kick(n, "tailnet " + name + " was removed"));
        aliases.reloadBlocking();
        withdrawals.allRoutesChanged();
        return null;
      }
    });
  }

  /** Forgets a node (its name is free again), kicking its sessions. */
  Future<NodeIdentity> deleteNode(String name, String tailnet) {
    if (!Hostnames.isLabel(name) || !Hostnames.isLabel(tailnet)) {
      return Future.failedFuture(AdminException.badRequest("node must be NAME.TAILNET, both DNS labels"));
    }
    return state.blocking(() -> {
      synchronized (state.writeLock) {
        NodeIdentity node = state.store.deleteNode(name, tailnet)
            .orElseThrow(() -> AdminException.notFound("no node " + name + "." + tailnet));
        state.snapshot(state.snapshot().withoutNodes(List.of(node)));
        state.publishControlChanged();
        LOG.log(Level.INFO, "node {0} ({1}) removed", node.shortName(), node.id());
        withdrawals.kick(node, "node " + node.shortName() + " was removed");
        aliases.reloadBlocking();
        return node;
      }
    });
  }
}
