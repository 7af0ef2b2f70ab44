package dev.funnel.registry;

import dev.funnel.common.bus.AcmeChallengeRequest;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortRefusals;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.ControlStore;
import dev.funnel.registry.store.H2ControlStore;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One registry, as {@link RegistryVerticle} (the event-bus service), {@link AdminApiVerticle} (the
 * REST API and console) and the launcher see it: builds the parts over one {@link RegistryState}
 * and hands each call to the part whose job it is ({@link Resolver}, {@link NodeLogins},
 * {@link NodeSessions}, {@link ControlChanges}, {@link AuthKeys}, {@link NodeViews},
 * {@link CertificateExpiries}, {@link AliasService}, {@link MemberDepartures}).
 *
 * <p>Threading: store calls run in {@code vertx.executeBlocking}, never on an event loop. Every
 * durable change takes one lock around "write the store, swap the snapshot, fix live sessions,
 * publish", so a login racing an admin removal always sees one before the other. Resolving reads
 * the snapshot and the session table only and never waits. Every method may be called from any
 * thread.
 *
 * <p>Build one per process with {@link #open(Vertx, RegistryOptions)} and pass it to both verticles;
 * {@link #close()} it after undeploying them.
 */
public final class RegistryService {

  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  /** Bounds of the lease sweep period (a quarter of the lease, clamped to these). */
  public static final long MIN_SWEEP_MILLIS = 25;
  public static final long MAX_SWEEP_MILLIS = 5_000;
  /** Longest auth-key expiry accepted: ten years. */
  public static final long MAX_KEY_EXPIRY_SECONDS = 10L * 366 * 24 * 3600;

  private final RegistryState state;
  /** What this registry heard of every service's figures (admin status; which public ports are listened on). */
  private final ClusterStats clusterStats = new ClusterStats();
  private final CertificateExpiries certificates;
  private final AliasService aliases;
  private final Resolver resolver;
  private final NodeViews views;
  private final NodeLogins logins;
  private final NodeSessions nodeSessions;
  private final ControlChanges control;
  private final AuthKeys keys;
  private final Withdrawals withdrawals;

  private RegistryService(RegistryState state) {
    this.state = state;
    this.withdrawals = new Withdrawals(state);
    this.certificates = new CertificateExpiries(id -> state.nodeById(id).isPresent());
    this.aliases = new AliasService(state.vertx, state.options, state);
    this.resolver = new Resolver(state);
    this.views = new NodeViews(state, clusterStats, certificates);
    this.logins = new NodeLogins(state, withdrawals, views);
    this.nodeSessions = new NodeSessions(state, withdrawals, views);
    this.control = new ControlChanges(state, withdrawals, aliases);
    this.keys = new AuthKeys(state, withdrawals);
  }

  /** Opens the embedded H2 store in {@code options.getStateDir()} and loads it. */
  public static Future<RegistryService> open(Vertx vertx, RegistryOptions options) {
    return vertx.executeBlocking(() -> H2ControlStore.open(options.getStateDir()))
        .compose(store -> create(vertx, options, store)
            .onFailure(e -> vertx.executeBlocking(() -> {
              store.close();
              return null;
            })));
  }

  /** Builds the service over an already opened store (it takes ownership of it). */
  public static Future<RegistryService> create(Vertx vertx, RegistryOptions options, ControlStore store) {
    return create(vertx, options, store, new LocalSessionTable());
  }

  /**
   * Builds a registry of a cluster over a store every registry shares (it takes ownership of this
   * connection): live sessions in the cluster's map, the sessions of a gateway whose process leaves
   * the cluster withdrawn at once, and the snapshot reloaded whenever another registry changes the
   * store ({@link Addresses#CONTROL_CHANGED}).
   */
  public static Future<RegistryService> createClustered(RegistryOptions options, ControlStore store,
                                                        FunnelCluster cluster) {
    Vertx vertx = cluster.vertx();
    // A lease keeps serving one more lease period while the table cannot take its renewal (see ClusterSessionTable).
    return ClusterSessionTable.open(vertx, cluster.hazelcast(), options.getClusterTimeoutMillis(),
            options.getLeaseMillis())
        .compose(table -> create(vertx, options, store, table))
        .onSuccess(service -> {
          MemberDepartures departures = new MemberDepartures(service.state, service.withdrawals, cluster);
          cluster.onMemberLeft(departures::left);
        });
  }

  private static Future<RegistryService> create(Vertx vertx, RegistryOptions options, ControlStore store,
                                                SessionTable sessions) {
    return vertx.executeBlocking(() -> {
      Snapshot loaded = Snapshot.of(store.tailnets(), store.nodes());
      LOG.log(Level.INFO, "registry store open (schema version {0}): {1} tailnets, {2} nodes",
          store.schemaVersion(), loaded.tailnets().size(), loaded.nodesById().size());
      RegistryService service = new RegistryService(new RegistryState(vertx, options, store, loaded, sessions));
      service.aliases.reloadBlocking();
      return service;
    });
  }

  /** Closes the store. Call after the verticles using this service are undeployed. */
  public Future<Void> close() {
    return state.sessions.close().recover(err -> Future.succeededFuture())
        .compose(v -> state.vertx.executeBlocking(() -> {
          state.store.close();
          return null;
        }));
  }

  public RegistryOptions options() {
    return state.options;
  }

  /** The public domain, normalised (lower case, no trailing dot). */
  public String domain() {
    return state.domain;
  }

  /** How often the lease sweep runs: a quarter of the lease, within [25 ms, 5 s]. */
  public long sweepPeriodMillis() {
    return Math.max(MIN_SWEEP_MILLIS, Math.min(MAX_SWEEP_MILLIS, state.options.getLeaseMillis() / 4));
  }

  // ================================================================ resolve

  /**
   * Which node serves {@code host:port}, from memory only. Checked in this order: the name is
   * exactly {@code NODE.TAILNET.<domain>} of a known tailnet and node (else NO_ROUTE); the tailnet
   * has Funnel on (FUNNEL_OFF); the tailnet allows the port (PORT_NOT_ALLOWED); the node has a live
   * session (NO_ROUTE); one of its live sessions announced the port (PORT_NOT_ALLOWED), the newest such serving.
   */
  public Resolution resolve(String host, int port) {
    return resolve(host, port, null);
  }

  /**
   * As {@link #resolve(String, int)}; when the node has two live sessions and the newest is on
   * {@code avoidGateway} (a frontend could not reach it), the other one serves.
   */
  public Resolution resolve(String host, int port, String avoidGateway) {
    return resolver.resolve(host, port, avoidGateway);
  }

  /**
   * As {@link #resolve(String, int, String)}, but a node that looks offline here is looked up in
   * the shared session table first: clustered, another registry may have admitted it a moment ago.
   */
  public Future<Resolution> resolveFresh(String host, int port, String avoidGateway) {
    return resolver.resolveFresh(host, port, avoidGateway);
  }

  /**
   * What public DNS may say about {@code name} ({@link Addresses#REGISTRY_NAME}): routable (with the
   * gateway of the newest live session that funnels a port the tailnet allows), a tailnet with
   * Funnel on, or nothing. Like {@link #resolveFresh}, a node that looks offline here is looked up
   * in the shared session table first. Never fails for a name; {@link NameStatus.Kind#NONE} is the
   * answer for anything unknown.
   */
  public Future<NameStatus> nameStatus(String name) {
    return resolver.nameStatus(name);
  }

  /**
   * Every name routable now ({@link Addresses#REGISTRY_ROUTABLE}), by {@link #nameStatus}'s rule:
   * each node of a tailnet with Funnel on whose newest live session funnels a port the tailnet
   * allows, with that session's gateway; sorted by name. Read from this registry's view (clustered,
   * the shared table's local copy), without a round trip per node.
   */
  public List<NameStatus> routableNames() {
    return resolver.routableNames();
  }

  // ================================================================ node sessions

  /**
   * Admits a node (see {@link dev.funnel.common.bus.Addresses#REGISTRY_LOGIN}). Fails with a
   * {@link ReplyException} coded by {@link LoginFailure}; any other failure is the store's.
   */
  public Future<NodeSession> login(NodeLogin login) {
    return logins.login(login);
  }

  /** Extends a live lease; fails with LEASE_UNKNOWN when the registry holds no such live session. */
  public Future<LeaseRenewal.Ack> renew(LeaseRenewal renewal) {
    return nodeSessions.renew(renewal);
  }

  /** Withdraws a session whose control channel ended; true when there was one with that epoch. */
  public Future<Boolean> sessionClosed(SessionClosed closed) {
    return nodeSessions.sessionClosed(closed);
  }

  /**
   * A node reports, through one of its live sessions, that another of its sessions was lost
   * ({@link Addresses#REGISTRY_SESSION_LOST}; acceptance: {@link SessionLossRule}). An accepted report
   * withdraws that session here at once and tells everyone ({@link Addresses#SESSION_WITHDRAWN}:
   * frontends stop waiting on it, other registries stop resolving to it), before the shared table is
   * changed: its partition may be waiting on the very member that died. The table follows; if it
   * cannot, the lease lapses. Fails with a {@link LoginFailure}-coded refusal when not accepted.
   */
  public Future<Void> sessionLost(SessionLossReport report) {
    return nodeSessions.sessionLost(report);
  }

  /**
   * Another registry (or this one) announced a session withdrawn ({@link Addresses#SESSION_WITHDRAWN}):
   * stop resolving to it now, whatever the shared table says yet.
   */
  public void sessionWithdrawn(SessionWithdrawn withdrawn) {
    nodeSessions.sessionWithdrawn(withdrawn);
  }

  /** Changes what a live session funnels; BAD_REQUEST for a bad port, LEASE_UNKNOWN for no such session. */
  public Future<NodeSession> updatePorts(PortsUpdate update) {
    return nodeSessions.updatePorts(update);
  }

  /**
   * A node's ACME dns-01 value: published to public DNS ({@link Addresses#DNS_CHALLENGE}) when the
   * request comes from a live session (as its gateway vouches) and names that session's own name;
   * LEASE_UNKNOWN without such a session, BAD_REQUEST for another name or a malformed value.
   */
  public Future<Void> acmeChallenge(AcmeChallengeRequest request) {
    return nodeSessions.acmeChallenge(request);
  }

  /** Drops sessions whose lease lapsed, publishing a route change for each; completes with how many. */
  public Future<Integer> sweep() {
    return nodeSessions.sweep();
  }

  /**
   * Another registry changed the shared store ({@link Addresses#CONTROL_CHANGED}, body: its id):
   * reload the snapshot, then tell frontends to drop routes they cached from the old one.
   */
  public Future<Void> controlChanged(String fromRegistry) {
    return control.controlChanged(fromRegistry);
  }

  // ================================================================ admin: tailnets

  public List<Tailnet> tailnets() {
    return control.tailnets();
  }

  public Future<Tailnet> tailnet(String name) {
    return control.tailnet(name);
  }

  public Future<Tailnet> createTailnet(String name, boolean funnel, Set<Integer> ports) {
    return control.createTailnet(name, funnel, ports);
  }

  /** Changes funnel and/or ports (null: keep). */
  public Future<Tailnet> updateTailnet(String name, Boolean funnel, Set<Integer> ports) {
    return control.updateTailnet(name, funnel, ports);
  }

  /** Removes a tailnet with its keys and nodes, kicking every node's sessions. */
  public Future<Void> deleteTailnet(String name) {
    return control.deleteTailnet(name);
  }

  // ================================================================ admin: keys

  /** A key just made: the only moment the key itself is known. */
  public record NewKey(AuthKeyInfo info, String key) {
    @Override
    public String toString() {
      return "NewKey[" + info + "]";
    }
  }

  /** Makes an auth key for {@code tailnet}; {@code expiry} null for none. */
  public Future<NewKey> createKey(String tailnet, boolean reusable, Duration expiry) {
    return keys.create(tailnet, reusable, expiry);
  }

  public Future<List<AuthKeyInfo>> keys() {
    return keys.list();
  }

  /** Revokes a key: nodes enrolled with it are kicked and can no longer log in. */
  public Future<AuthKeyInfo> revokeKey(String id) {
    return keys.revoke(id);
  }

  // ================================================================ admin: nodes

  /** A gateway's {@code NodeCertReport}: kept for a node this registry knows, ignored otherwise. */
  public void certificateReported(String nodeId, long notAfter) {
    certificates.reported(nodeId, notAfter);
  }

  /**
   * Which of {@code ports} of a node in {@code tailnet} the public side will not route, and why
   * ({@link PortRefusals}): the tailnet's policy as it stands, or no frontend listening on the port.
   */
  public Map<Integer, String> refusedPorts(String tailnet, List<Integer> ports) {
    return views.refusedPorts(tailnet, ports);
  }

  public List<NodeView> nodes() {
    return views.nodes();
  }

  /** Forgets a node (its name is free again), kicking its sessions. */
  public Future<NodeIdentity> deleteNode(String name, String tailnet) {
    return control.deleteNode(name, tailnet);
  }

  // ================================================================ the rest

  /** What this registry heard of every service's figures. */
  ClusterStats clusterStats() {
    return clusterStats;
  }

  /** This registry's id (its member id in the cluster's figures). */
  public String registryId() {
    return state.registryId;
  }

  /** Answers when the store does; for health checks. */
  public Future<Void> ping() {
    return state.vertx.executeBlocking(() -> {
      state.store.ping();
      return null;
    }, false);
  }

  /** The durable store; for tests (call from a worker only). */
  ControlStore store() {
    return state.store;
  }

  /** The custom domains (aliases) of this registry's nodes. */
  public AliasService aliases() {
    return aliases;
  }

  /** Sessions held (live or awaiting the sweep); for tests and metrics. */
  int sessionCount() {
    return state.sessions.size();
  }
}
