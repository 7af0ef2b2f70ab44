package dev.funnel.registry;

import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable in-memory copy of the durable tailnets and node identities, so resolving a name
 * never touches the store. A change builds a new snapshot and swaps it in whole; readers hold
 * whichever one they read. Lookups return {@link Optional#empty()} for nothing.
 */
record Snapshot(Map<String, Tailnet> tailnets, Map<String, NodeIdentity> nodesByName,
                Map<String, NodeIdentity> nodesById) {

  static final Snapshot EMPTY = new Snapshot(Map.of(), Map.of(), Map.of());

  Snapshot {
    tailnets = Map.copyOf(tailnets);
    nodesByName = Map.copyOf(nodesByName);
    nodesById = Map.copyOf(nodesById);
  }

  static Snapshot of(List<Tailnet> tailnets, List<NodeIdentity> nodes) {
    Map<String, Tailnet> t = new HashMap<>();
    tailnets.forEach(tn -> t.put(tn.name(), tn));
    Map<String, NodeIdentity> byName = new HashMap<>();
    Map<String, NodeIdentity> byId = new HashMap<>();
    nodes.forEach(n -> {
      byName.put(n.shortName(), n);
      byId.put(n.id(), n);
    });
    return new Snapshot(t, byName, byId);
  }

  Optional<Tailnet> tailnet(String name) {
    return Optional.ofNullable(tailnets.get(name));
  }

  /** The node owning {@code name.tailnet}. */
  Optional<NodeIdentity> node(String name, String tailnet) {
    return Optional.ofNullable(nodesByName.get(name + "." + tailnet));
  }

  Optional<NodeIdentity> nodeById(String id) {
    return Optional.ofNullable(nodesById.get(id));
  }

  Snapshot withTailnet(Tailnet tailnet) {
    Map<String, Tailnet> t = new HashMap<>(tailnets);
    t.put(tailnet.name(), tailnet);
    return new Snapshot(t, nodesByName, nodesById);
  }

  /** Without the tailnet and every node in it. */
  Snapshot withoutTailnet(String name) {
    Map<String, Tailnet> t = new HashMap<>(tailnets);
    t.remove(name);
    return new Snapshot(t, nodesByName, nodesById)
        .withoutNodes(nodesById.values().stream().filter(n -> n.tailnet().equals(name)).toList());
  }

  Snapshot withNode(NodeIdentity node) {
    Map<String, NodeIdentity> byName = new HashMap<>(nodesByName);
    Map<String, NodeIdentity> byId = new HashMap<>(nodesById);
    byName.put(node.shortName(), node);
    byId.put(node.id(), node);
    return new Snapshot(tailnets, byName, byId);
  }

  Snapshot withoutNodes(Collection<NodeIdentity> nodes) {
    if (nodes.isEmpty()) {
      return this;
    }
    Map<String, NodeIdentity> byName = new HashMap<>(nodesByName);
    Map<String, NodeIdentity> byId = new HashMap<>(nodesById);
    for (NodeIdentity n : nodes) {
      byName.remove(n.shortName());
      byId.remove(n.id());
    }
    return new Snapshot(tailnets, byName, byId);
  }
}
