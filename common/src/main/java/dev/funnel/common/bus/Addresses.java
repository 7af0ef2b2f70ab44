package dev.funnel.common.bus;

import java.util.List;

/**
 * Every event-bus address Funnel uses. Services find each other only through these; the message
 * records that travel on each are named next to it.
 */
public final class Addresses {

  private Addresses() {
  }

  /** {@link ResolveRequest} → {@link Route}, or a failure coded by {@link ResolveFailure}. */
  public static final String REGISTRY_RESOLVE = "funnel.registry.resolve";

  /** {@link NodeLogin} → {@link NodeSession}, or a failure coded by {@link LoginFailure}. */
  public static final String REGISTRY_LOGIN = "funnel.registry.login";

  /** {@link LeaseRenewal} → {@link LeaseRenewal.Ack}; a lease the registry does not know fails with {@link LoginFailure#LEASE_UNKNOWN}. */
  public static final String REGISTRY_RENEW = "funnel.registry.renew";

  /** {@link SessionClosed} → an empty reply. Sent by the gateway when a node's control channel ends. */
  public static final String REGISTRY_SESSION_CLOSED = "funnel.registry.session-closed";

  /**
   * {@link SessionLossReport} → an empty reply, or a failure coded by {@link LoginFailure}
   * ({@code BAD_REQUEST}: not a report the registry accepts; {@code LEASE_UNKNOWN}: no such
   * session). Sent by a gateway on behalf of a node whose session with another gateway dropped.
   */
  public static final String REGISTRY_SESSION_LOST = "funnel.registry.session-lost";

  /** {@link PortsUpdate} → {@link NodeSession}: a node changed what it funnels, at run time. */
  public static final String REGISTRY_PORTS = "funnel.registry.ports";

  /**
   * {@link NameQuery} → {@link NameStatus}: does a public name exist, is it routable, which gateway
   * holds it. Asked by public DNS on a cache miss; never fails for an unknown name (that is
   * {@link NameStatus.Kind#NONE}).
   */
  public static final String REGISTRY_NAME = "funnel.registry.name";

  /**
   * A request with any body → {@link RoutableNames}: every name routable now, from the registry's
   * view (the same rule as {@link #REGISTRY_NAME}'s {@link NameStatus.Kind#ROUTABLE}). Asked by
   * public DNS's RFC 2136 pusher on every push, so a whole zone can be compared with the primary's.
   */
  public static final String REGISTRY_ROUTABLE = "funnel.registry.routable";

  /**
   * {@link DnsChallenge} → an empty reply: sets or clears an {@code _acme-challenge} TXT value in
   * public DNS. Publish it, so every DNS process of a cluster holds it.
   */
  public static final String DNS_CHALLENGE = "funnel.dns.challenge";

  /**
   * {@link AcmeChallengeRequest} → an empty reply, or {@code LoginFailure.BAD_REQUEST} (not the node's
   * own name, malformed) / {@code LEASE_UNKNOWN} (no such live session): a node's dns-01 value, which
   * the registry publishes on {@link #DNS_CHALLENGE} after checking the name is the node's own.
   */
  public static final String REGISTRY_ACME_CHALLENGE = "funnel.registry.acme-challenge";

  /** Any body → {@link VerifiedAliases}: every custom domain routed now (frontends ask at start). */
  public static final String REGISTRY_ALIASES = "funnel.registry.aliases";

  /** Published {@link VerifiedAliases} whenever the set of routed custom domains changes (and after each check round). */
  public static final String ALIASES_CHANGED = "funnel.registry.aliases-changed";

  /** A node id (String) → {@link AliasStatus}: that node's custom domains (its gateway asks after a login). */
  public static final String REGISTRY_NODE_ALIASES = "funnel.registry.node-aliases";

  /** Published {@link AliasStatus} when a node's custom domains change state; the gateway holding its session passes it on. */
  public static final String ALIAS_STATUS = "funnel.registry.alias-status";

  /**
   * Published {@link TailnetPolicy} by the registry that changed a tailnet's Funnel switch or ports:
   * gateways tell that tailnet's nodes which of their ports the public side now refuses.
   */
  public static final String TAILNET_CHANGED = "funnel.registry.tailnet-changed";

  /** Published {@link RouteChanged}: drop cached routes for a host (or all). */
  public static final String ROUTES_CHANGED = "funnel.registry.routes-changed";

  /**
   * Published {@link SessionWithdrawn}: one node session is no longer routed. Frontends fail opens
   * waiting on it and drop cached routes for its name; registries stop resolving to it at once.
   */
  public static final String SESSION_WITHDRAWN = "funnel.registry.session-withdrawn";

  /** Published {@link SessionKick}: a gateway holding that node's session must close it now. */
  public static final String SESSION_KICK = "funnel.gateway.kick";

  /**
   * Published by a registry after it changed durable state (tailnets, keys, node identities), with
   * its own id as the body (a String): every other registry reloads its snapshot from the shared store.
   */
  public static final String CONTROL_CHANGED = "funnel.registry.control-changed";

  /**
   * Published by a gateway when a node said when its certificate expires ({@link NodeCertReport});
   * every registry keeps it for the node (console, {@code GET /v1/nodes}).
   */
  public static final String NODE_CERT = "funnel.registry.node-cert";

  /**
   * Published by a registry when a gateway's process left the cluster (killed, cut off), with the
   * gateway id as the body (a String): frontends stop waiting on opens sent to it and try another
   * gateway at once, instead of waiting out the open timeout.
   */
  public static final String GATEWAY_LEFT = "funnel.gateway.left";

  /**
   * Published by a registry when another registry's process left the cluster, with the member's id
   * as the body (a String): frontends ask again, at once, any resolve still waiting (it may have
   * gone to the registry that is gone, and the event bus would not fail it before its timeout).
   */
  public static final String REGISTRY_LEFT = "funnel.registry.left";

  /**
   * {@link ProbeRequest} → {@link ProbeResult}: a frontend opens a connection to the node's own
   * public name through its own public listener, as an outside client would (the live probe of
   * {@code funnel status}). Sent by the gateway holding the asking node's session; never fails (a
   * failure is a {@link ProbeResult.Outcome}).
   */
  public static final String FRONTEND_PROBE = "funnel.frontend.probe";

  /**
   * {@link NameQuery} → {@link DnsLookup}: what Funnel's public DNS answers for a name, and where it
   * listens. No handler means Funnel runs no DNS here.
   */
  public static final String DNS_LOOKUP = "funnel.dns.lookup";

  /** Published {@link MemberStats}: each service's figures, every {@link MemberStats#PERIOD_MILLIS}. */
  public static final String MEMBER_STATS = "funnel.ops.member-stats";

  /**
   * Optional header on a {@link ResolveRequest}: the gateway id a frontend could not reach. The
   * registry answers with another live session of the node when it has one.
   */
  public static final String HEADER_AVOID_GATEWAY = "funnel-avoid-gateway";

  /**
   * Where gateway {@code gatewayId}'s link listens for frontends in other processes: a request with
   * any body, answered with {@code "HOST:PORT"} (a String). Frontends ask once per gateway and keep
   * the answer while their connections to it live; the tunnels themselves never touch the bus.
   */
  public static String gatewayLink(String gatewayId) {
    return "funnel.gateway." + gatewayId + ".link";
  }

  /**
   * The fixed addresses services send or publish to: a cluster member looks up who listens on
   * each as soon as it joins, so the first message after a failure does not wait on the cluster's
   * partition tables (see {@code FunnelCluster}).
   */
  public static List<String> fixed() {
    return List.of(REGISTRY_RESOLVE, REGISTRY_LOGIN, REGISTRY_RENEW, REGISTRY_SESSION_CLOSED,
        REGISTRY_SESSION_LOST, REGISTRY_PORTS, REGISTRY_NAME, REGISTRY_ROUTABLE, REGISTRY_ACME_CHALLENGE, ROUTES_CHANGED,
        TAILNET_CHANGED, SESSION_WITHDRAWN, SESSION_KICK, CONTROL_CHANGED, GATEWAY_LEFT, REGISTRY_LEFT, DNS_CHALLENGE, FRONTEND_PROBE, DNS_LOOKUP,
        MEMBER_STATS, NODE_CERT, REGISTRY_ALIASES, ALIASES_CHANGED, REGISTRY_NODE_ALIASES, ALIAS_STATUS);
  }
}
