package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.Route;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.Resolution.Found;
import dev.funnel.registry.Resolution.Refused;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import java.util.List;
import java.util.Optional;

/**
 * Who may be resolved to, as pure functions of a {@link Snapshot} and a node's live sessions: the
 * checks that need no session ({@link #check}), then which live session serves ({@link #choose}).
 */
final class ResolveRules {

  private ResolveRules() {
  }

  /** A name that passed every check but the session's: its public name and node id. */
  record Named(String fqdn, String nodeId) {
  }

  /**
   * The checks that need no session, in this order: the name is exactly {@code NODE.TAILNET.<domain>}
   * of a known tailnet and node (else NO_ROUTE); the tailnet has Funnel on (FUNNEL_OFF); the tailnet
   * allows the port (PORT_NOT_ALLOWED). A {@link Refused}, or the {@link Named} node.
   */
  static Object check(Snapshot view, String domain, String host, int port) {
    Optional<Hostnames.FunnelName> name = Hostnames.normalise(host).flatMap(h -> Hostnames.parse(h, domain));
    if (name.isEmpty()) {
      return new Refused(ResolveFailure.NO_ROUTE, "not a name under " + domain);
    }
    Optional<Tailnet> tailnet = view.tailnet(name.get().tailnet());
    if (tailnet.isEmpty()) {
      return new Refused(ResolveFailure.NO_ROUTE, "no tailnet " + name.get().tailnet());
    }
    Optional<NodeIdentity> node = view.node(name.get().node(), name.get().tailnet());
    if (node.isEmpty()) {
      return new Refused(ResolveFailure.NO_ROUTE, "no node " + name.get().node() + " in " + name.get().tailnet());
    }
    if (!tailnet.get().funnel()) {
      return new Refused(ResolveFailure.FUNNEL_OFF, "funnel is off for tailnet " + tailnet.get().name());
    }
    if (!tailnet.get().allows(port)) {
      return new Refused(ResolveFailure.PORT_NOT_ALLOWED, "tailnet " + tailnet.get().name() + " does not allow port " + port);
    }
    return new Named(name.get().fqdn(), node.get().id());
  }

  /**
   * The live session that serves ({@code live} newest first): the newest that funnels the port, or
   * the next such one when the newest is on {@code avoidGateway}. NO_ROUTE when the node is offline,
   * PORT_NOT_ALLOWED when none of its sessions funnels the port.
   */
  static Resolution choose(Named named, int port, List<Live> live, String avoidGateway) {
    if (live.isEmpty()) {
      return new Refused(ResolveFailure.NO_ROUTE, "node is offline");
    }
    List<Live> serving = live.stream().filter(l -> l.ports().contains(port)).toList();
    if (serving.isEmpty()) {
      return new Refused(ResolveFailure.PORT_NOT_ALLOWED, "node does not funnel port " + port);
    }
    Live l = serving.get(0);
    if (avoidGateway != null && l.gatewayId().equals(avoidGateway) && serving.size() > 1) {
      l = serving.get(1);
    }
    return new Found(new Route(named.fqdn(), port, l.nodeId(), l.gatewayId(), l.epoch()));
  }

  /**
   * The live session public DNS names for a node of {@code tailnet} (Funnel on): the newest that
   * funnels a port the tailnet allows; empty when none does.
   */
  static Optional<Live> dnsServing(Tailnet tailnet, List<Live> live) {
    return live.stream().filter(l -> l.ports().stream().anyMatch(tailnet::allows)).findFirst();
  }
}
