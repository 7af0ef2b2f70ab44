package dev.funnel.registry;

import dev.funnel.common.bus.PortRefusals;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the console and the admin API show of nodes: each known node with its live sessions, the
 * ports the public side will not route ({@link PortRefusals}) and its certificate's expiry.
 */
final class NodeViews {

  private final RegistryState state;
  private final ClusterStats clusterStats;
  private final CertificateExpiries certificates;

  NodeViews(RegistryState state, ClusterStats clusterStats, CertificateExpiries certificates) {
    this.state = state;
    this.clusterStats = clusterStats;
    this.certificates = certificates;
  }

  /**
   * Which of {@code ports} of a node in {@code tailnet} the public side will not route, and why: the
   * tailnet's policy as it stands, or no frontend listening on the port (as far as this registry
   * heard; nothing is claimed before any frontend reported).
   */
  Map<Integer, String> refusedPorts(String tailnet, List<Integer> ports) {
    Optional<Tailnet> t = state.tailnetNow(tailnet);
    return PortRefusals.of(ports, tailnet, t.map(Tailnet::funnel).orElse(false),
        t.map(Tailnet::ports).orElse(List.of()), clusterStats.listenedPorts(System.currentTimeMillis()));
  }

  /** Every known node, by tailnet then name. */
  List<NodeView> nodes() {
    long now = System.currentTimeMillis();
    List<NodeView> out = new ArrayList<>();
    state.snapshot().nodesById().values().stream()
        .sorted(Comparator.comparing(NodeIdentity::tailnet).thenComparing(NodeIdentity::name))
        .forEach(n -> {
          List<Live> live = state.sessions.live(n.id(), now);
          List<Integer> ports = live.isEmpty() ? List.of() : live.get(0).ports();
          out.add(new NodeView(n, n.fqdn(state.domain), !live.isEmpty(), live.stream().map(Live::gatewayId).toList(),
              ports, refusedPorts(n.tailnet(), ports), certificates.of(n.id())));
        });
    return out;
  }
}
