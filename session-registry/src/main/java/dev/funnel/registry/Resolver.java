package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.Resolution.Refused;
import dev.funnel.registry.ResolveRules.Named;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Answers "which node serves this name", for frontends ({@link Addresses#REGISTRY_RESOLVE}) and
 * public DNS ({@link Addresses#REGISTRY_NAME}, {@link Addresses#REGISTRY_ROUTABLE}), from the
 * snapshot and the session table's local view only (the decisions are {@link ResolveRules}).
 */
final class Resolver {

  private final RegistryState state;

  Resolver(RegistryState state) {
    this.state = state;
  }

  /** See {@link RegistryService#resolve(String, int, String)}. */
  Resolution resolve(String host, int port, String avoidGateway) {
    Object checked = ResolveRules.check(state.snapshot(), state.domain, host, port);
    if (checked instanceof Refused refused) {
      return refused;
    }
    Named named = (Named) checked;
    return ResolveRules.choose(named, port, state.sessions.live(named.nodeId(), System.currentTimeMillis()),
        avoidGateway);
  }

  /** See {@link RegistryService#resolveFresh}. */
  Future<Resolution> resolveFresh(String host, int port, String avoidGateway) {
    Object checked = ResolveRules.check(state.snapshot(), state.domain, host, port);
    if (checked instanceof Refused refused) {
      return Future.succeededFuture(refused);
    }
    Named named = (Named) checked;
    long now = System.currentTimeMillis();
    List<Live> live = state.sessions.live(named.nodeId(), now);
    if (!live.isEmpty()) {
      return Future.succeededFuture(ResolveRules.choose(named, port, live, avoidGateway));
    }
    return state.sessions.fetch(named.nodeId(), now)
        .map(fetched -> ResolveRules.choose(named, port, fetched, avoidGateway));
  }

  /** See {@link RegistryService#nameStatus}. */
  Future<NameStatus> nameStatus(String name) {
    String domain = state.domain;
    Optional<String> normal = name == null ? Optional.empty() : Hostnames.normalise(name);
    if (normal.isEmpty() || !normal.get().endsWith("." + domain)) {
      return Future.succeededFuture(NameStatus.none(name));
    }
    String host = normal.get();
    String below = host.substring(0, host.length() - domain.length() - 1);
    Snapshot view = state.snapshot();
    if (Hostnames.isLabel(below)) {
      boolean on = view.tailnet(below).map(Tailnet::funnel).orElse(false);
      return Future.succeededFuture(on ? new NameStatus(host, NameStatus.Kind.TAILNET, null) : NameStatus.none(host));
    }
    Optional<Hostnames.FunnelName> parsed = Hostnames.parse(host, domain);
    if (parsed.isEmpty()) {
      return Future.succeededFuture(NameStatus.none(host));
    }
    Optional<Tailnet> tailnet = view.tailnet(parsed.get().tailnet()).filter(Tailnet::funnel);
    Optional<NodeIdentity> node = view.node(parsed.get().node(), parsed.get().tailnet());
    if (tailnet.isEmpty() || node.isEmpty()) {
      return Future.succeededFuture(NameStatus.none(host));
    }
    long now = System.currentTimeMillis();
    List<Live> live = state.sessions.live(node.get().id(), now);
    Future<List<Live>> sessionsNow = live.isEmpty() ? state.sessions.fetch(node.get().id(), now)
        : Future.succeededFuture(live);
    return sessionsNow.map(list -> ResolveRules.dnsServing(tailnet.get(), list)
        .map(l -> new NameStatus(host, NameStatus.Kind.ROUTABLE, l.gatewayId()))
        .orElse(NameStatus.none(host)));
  }

  /** See {@link RegistryService#routableNames}. */
  List<NameStatus> routableNames() {
    Snapshot view = state.snapshot();
    long now = System.currentTimeMillis();
    List<NameStatus> out = new ArrayList<>();
    for (NodeIdentity node : view.nodesById().values()) {
      Optional<Tailnet> tailnet = view.tailnet(node.tailnet()).filter(Tailnet::funnel);
      if (tailnet.isEmpty()) {
        continue;
      }
      ResolveRules.dnsServing(tailnet.get(), state.sessions.live(node.id(), now))
          .ifPresent(l -> out.add(new NameStatus(node.fqdn(state.domain), NameStatus.Kind.ROUTABLE, l.gatewayId())));
    }
    out.sort(Comparator.comparing(NameStatus::name));
    return out;
  }
}
