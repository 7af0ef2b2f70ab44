package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.PublicPorts;
import dev.funnel.common.bus.AcmeChallengeRequest;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortRefusals;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.Route;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.ControlStore;
import dev.funnel.registry.store.Enrolment;
import dev.funnel.registry.store.H2ControlStore;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The registry's state, shared by {@link RegistryVerticle} (the event-bus service) and
 * {@link AdminApiVerticle} (the REST API): the durable {@link ControlStore}, an immutable
 * {@link Snapshot} of its tailnets and node identities, and the in-memory {@link LiveSessions}.
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

  private final Vertx vertx;
  private final RegistryOptions options;
  private final String domain;
  private final ControlStore store;
  private final Object writeLock = new Object();
  private volatile Snapshot snapshot;
  private final SessionTable sessions;
  /**
   * Session epochs: the clock in microseconds, or one more than the last when the clock has not
   * moved, so they keep rising across restarts and stay roughly in login order across registries.
   */
  private final AtomicLong epochs = new AtomicLong(System.currentTimeMillis() * 1000);
  /** This registry's id in {@link Addresses#CONTROL_CHANGED} events (so it ignores its own). */
  private final String registryId = Secrets.newNodeId();
  /** What this registry heard of every service's figures (admin status; which public ports are listened on). */
  private final ClusterStats clusterStats = new ClusterStats();
  /** Custom domains: their records, checks and the set frontends route. */
  private final AliasService aliases;

  private RegistryService(Vertx vertx, RegistryOptions options, ControlStore store, Snapshot snapshot,
                          SessionTable sessions) {
    this.vertx = vertx;
    this.options = options;
    this.domain = normaliseDomain(options.getDomain());
    this.store = store;
    this.snapshot = snapshot;
    this.sessions = sessions;
    this.aliases = new AliasService(vertx, options, this);
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
        .onSuccess(service -> cluster.onMemberLeft(member -> service.memberLeft(member, cluster)));
  }

  private static Future<RegistryService> create(Vertx vertx, RegistryOptions options, ControlStore store,
                                                SessionTable sessions) {
    return vertx.executeBlocking(() -> {
      Snapshot loaded = Snapshot.of(store.tailnets(), store.nodes());
      LOG.log(Level.INFO, "registry store open (schema version {0}): {1} tailnets, {2} nodes",
          store.schemaVersion(), loaded.tailnets().size(), loaded.nodesById().size());
      RegistryService service = new RegistryService(vertx, options, store, loaded, sessions);
      service.aliases.reloadBlocking();
      return service;
    });
  }

  /** Closes the store. Call after the verticles using this service are undeployed. */
  public Future<Void> close() {
    return sessions.close().recover(err -> Future.succeededFuture()).compose(v -> vertx.executeBlocking(() -> {
      store.close();
      return null;
    }));
  }

  public RegistryOptions options() {
    return options;
  }

  /** The public domain, normalised (lower case, no trailing dot). */
  public String domain() {
    return domain;
  }

  /** How often the lease sweep runs: a quarter of the lease, within [25 ms, 5 s]. */
  public long sweepPeriodMillis() {
    return Math.max(MIN_SWEEP_MILLIS, Math.min(MAX_SWEEP_MILLIS, options.getLeaseMillis() / 4));
  }

  // ================================================================ resolve

  /** What {@link #resolve} found: a route, or a coded refusal with a reason for the log. */
  public sealed interface Resolution {
  }

  public record Found(Route route) implements Resolution {
  }

  public record Refused(ResolveFailure failure, String reason) implements Resolution {
  }

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
    Object checked = check(host, port);
    if (checked instanceof Refused refused) {
      return refused;
    }
    Named named = (Named) checked;
    return choose(named, port, sessions.live(named.nodeId(), System.currentTimeMillis()), avoidGateway);
  }

  /**
   * As {@link #resolve(String, int, String)}, but a node that looks offline here is looked up in
   * the shared session table first: clustered, another registry may have admitted it a moment ago.
   */
  public Future<Resolution> resolveFresh(String host, int port, String avoidGateway) {
    Object checked = check(host, port);
    if (checked instanceof Refused refused) {
      return Future.succeededFuture(refused);
    }
    Named named = (Named) checked;
    long now = System.currentTimeMillis();
    List<Live> live = sessions.live(named.nodeId(), now);
    if (!live.isEmpty()) {
      return Future.succeededFuture(choose(named, port, live, avoidGateway));
    }
    return sessions.fetch(named.nodeId(), now).map(fetched -> choose(named, port, fetched, avoidGateway));
  }

  /**
   * What public DNS may say about {@code name} ({@link Addresses#REGISTRY_NAME}): routable (with the
   * gateway of the newest live session that funnels a port the tailnet allows), a tailnet with
   * Funnel on, or nothing. Like {@link #resolveFresh}, a node that looks offline here is looked up
   * in the shared session table first. Never fails for a name; {@link NameStatus.Kind#NONE} is the
   * answer for anything unknown.
   */
  public Future<NameStatus> nameStatus(String name) {
    Optional<String> normal = name == null ? Optional.empty() : Hostnames.normalise(name);
    if (normal.isEmpty() || !normal.get().endsWith("." + domain)) {
      return Future.succeededFuture(NameStatus.none(name));
    }
    String host = normal.get();
    String below = host.substring(0, host.length() - domain.length() - 1);
    Snapshot view = snapshot;
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
    List<Live> live = sessions.live(node.get().id(), now);
    Future<List<Live>> sessionsNow = live.isEmpty() ? sessions.fetch(node.get().id(), now) : Future.succeededFuture(live);
    return sessionsNow.map(list -> list.stream()
        .filter(l -> l.ports().stream().anyMatch(tailnet.get()::allows))
        .findFirst()
        .map(l -> new NameStatus(host, NameStatus.Kind.ROUTABLE, l.gatewayId()))
        .orElse(NameStatus.none(host)));
  }

  /**
   * Every name routable now ({@link Addresses#REGISTRY_ROUTABLE}), by {@link #nameStatus}'s rule:
   * each node of a tailnet with Funnel on whose newest live session funnels a port the tailnet
   * allows, with that session's gateway; sorted by name. Read from this registry's view (clustered,
   * the shared table's local copy), without a round trip per node.
   */
  public List<NameStatus> routableNames() {
    Snapshot view = snapshot;
    long now = System.currentTimeMillis();
    List<NameStatus> out = new ArrayList<>();
    for (NodeIdentity node : view.nodesById().values()) {
      Optional<Tailnet> tailnet = view.tailnet(node.tailnet()).filter(Tailnet::funnel);
      if (tailnet.isEmpty()) {
        continue;
      }
      sessions.live(node.id(), now).stream()
          .filter(l -> l.ports().stream().anyMatch(tailnet.get()::allows))
          .findFirst()
          .ifPresent(l -> out.add(new NameStatus(node.fqdn(domain), NameStatus.Kind.ROUTABLE, l.gatewayId())));
    }
    out.sort(Comparator.comparing(NameStatus::name));
    return out;
  }

  /** A name that passed every check but the session's: its public name and node id. */
  private record Named(String fqdn, String nodeId) {
  }

  /**
   * The live session that serves: the newest that funnels the port, or the next such one when the
   * newest is on {@code avoidGateway}.
   */
  private static Resolution choose(Named named, int port, List<Live> live, String avoidGateway) {
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

  /** The checks that need no session: a {@link Refused}, or the {@link Named} node. */
  private Object check(String host, int port) {
    Optional<Hostnames.FunnelName> name = Hostnames.normalise(host).flatMap(h -> Hostnames.parse(h, domain));
    if (name.isEmpty()) {
      return new Refused(ResolveFailure.NO_ROUTE, "not a name under " + domain);
    }
    Snapshot view = snapshot;
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

  // ================================================================ node sessions

  /**
   * Admits a node (see {@link dev.funnel.common.bus.Addresses#REGISTRY_LOGIN}). Fails with a
   * {@link ReplyException} coded by {@link LoginFailure}; any other failure is the store's.
   */
  public Future<NodeSession> login(NodeLogin login) {
    String where = "login of " + login.hostname() + " via " + login.gatewayId();
    String bad = badLogin(login);
    if (bad != null) {
      return refuse(where, LoginFailure.BAD_REQUEST, bad);
    }
    List<Integer> ports = PublicPorts.sorted(Set.copyOf(login.ports()));
    return blocking(() -> {
      NodeProof.Result proof = NodeProof.verify(login.nodePublicKey(), login.challenge(), login.proof());
      if (proof instanceof NodeProof.Failed failed) {
        throw refusal(where, LoginFailure.BAD_NODE_KEY, failed.reason());
      }
      String publicKey = ((NodeProof.Verified) proof).publicKey();
      synchronized (writeLock) {
        NodeIdentity node = identify(where, login, publicKey);
        Live session = new Live(node.id(), node.fqdn(domain), login.gatewayId(), nextEpoch(), ports,
            System.currentTimeMillis() + options.getLeaseMillis());
        List<Live> displaced = awaitTable(sessions.put(session));
        displaced.forEach(this::announceWithdrawn);
        routeChanged(session.fqdn());
        LOG.log(Level.INFO, "node {0} logged in via {1} (epoch {2}, ports {3})", session.fqdn(),
            session.gatewayId(), session.epoch(), ports);
        Map<Integer, String> refused = refusedPorts(node.tailnet(), ports);
        if (!refused.isEmpty()) {
          LOG.log(Level.INFO, "node {0}: ports not routed: {1}", session.fqdn(), refused);
        }
        return new NodeSession(node.id(), session.fqdn(), node.tailnet(), session.epoch(), ports,
            options.getLeaseMillis(), refused);
      }
    });
  }

  /** The identity logging in: the one holding that node key, or a new one enrolled with the auth key. Holds writeLock. */
  private NodeIdentity identify(String where, NodeLogin login, String publicKey) {
    Optional<NodeIdentity> existing = store.nodeByPublicKey(publicKey);
    if (existing.isPresent()) {
      NodeIdentity node = existing.get();
      if (!node.name().equals(login.hostname())) {
        throw refusal(where, LoginFailure.BAD_REQUEST, "this node key is registered as " + node.shortName()
            + "; log in with hostname " + node.name() + " (or remove the node first)");
      }
      Optional<AuthKeyInfo> key = store.key(node.keyId());
      if (key.isEmpty() || key.get().revoked()) {
        throw refusal(where, LoginFailure.BAD_KEY, "the auth key " + node.keyId() + " this node enrolled with was revoked");
      }
      return node;
    }
    if (login.authKey() == null || login.authKey().isEmpty()) {
      throw refusal(where, LoginFailure.BAD_KEY, "an auth key is required for a new node");
    }
    Enrolment result = store.enrol(Secrets.hash(login.authKey()), Secrets.newNodeId(), login.hostname(), publicKey,
        now());
    if (result instanceof Enrolment.KeyRefused refused) {
      throw refusal(where, LoginFailure.BAD_KEY, refused.reason());
    }
    if (result instanceof Enrolment.NameTaken taken) {
      throw refusal(where, LoginFailure.NAME_TAKEN, taken.owner().shortName() + " is already owned by another node");
    }
    NodeIdentity node = ((Enrolment.Enrolled) result).node();
    snapshot = snapshot.withNode(node);
    publishControlChanged();
    LOG.log(Level.INFO, "node {0} enrolled as {1} with auth key {2}", node.shortName(), node.id(), node.keyId());
    return node;
  }

  /** Why a login is malformed, or null. */
  private static String badLogin(NodeLogin login) {
    if (!Hostnames.isLabel(login.hostname())) {
      return "hostname '" + login.hostname() + "' is not a DNS label ([a-z0-9-], 1-63, no hyphen at either end)";
    }
    for (Integer port : login.ports()) {
      if (port == null || !PublicPorts.isAllowed(port)) {
        return "port " + port + " is not a Funnel port (443, 8443, 10000)";
      }
    }
    if (login.gatewayId() == null || login.gatewayId().isEmpty()) {
      return "gatewayId is required";
    }
    if (login.nodePublicKey() == null || login.nodePublicKey().isEmpty()) {
      return "nodePublicKey is required";
    }
    if (login.challenge() == null || login.challenge().isEmpty()) {
      return "challenge is required";
    }
    if (login.proof() == null || login.proof().isEmpty()) {
      return "proof is required";
    }
    return null;
  }

  /** Extends a live lease; fails with LEASE_UNKNOWN when the registry holds no such live session. */
  public Future<LeaseRenewal.Ack> renew(LeaseRenewal renewal) {
    long now = System.currentTimeMillis();
    long expiresAt = now + options.getLeaseMillis();
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

  /** Withdraws a session whose control channel ended; true when there was one with that epoch. */
  public Future<Boolean> sessionClosed(SessionClosed closed) {
    if (closed.nodeId() == null || closed.gatewayId() == null) {
      return Future.succeededFuture(false);
    }
    return sessions.remove(closed.nodeId(), closed.gatewayId(), closed.epoch()).map(removed -> {
      removed.ifPresent(l -> {
        LOG.log(Level.INFO, "node {0} session on {1} (epoch {2}) closed", l.fqdn(), l.gatewayId(), l.epoch());
        announceWithdrawn(l);
      });
      return removed.isPresent();
    });
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
      announceWithdrawn(lost);
      sessions.remove(lost.nodeId(), lost.gatewayId(), lost.epoch())
          .onFailure(err -> LOG.log(Level.WARNING, "removing node " + lost.nodeId() + "'s lost session on "
              + lost.gatewayId() + " from the shared table failed: " + err + "; its lease will lapse"));
      return Future.succeededFuture();
    });
  }

  /**
   * Another registry (or this one) announced a session withdrawn ({@link Addresses#SESSION_WITHDRAWN}):
   * stop resolving to it now, whatever the shared table says yet.
   */
  public void sessionWithdrawn(SessionWithdrawn withdrawn) {
    if (withdrawn.nodeId() != null && withdrawn.gatewayId() != null) {
      sessions.markWithdrawn(withdrawn.nodeId(), withdrawn.gatewayId(), withdrawn.epoch());
    }
  }

  /** Changes what a live session funnels; BAD_REQUEST for a bad port, LEASE_UNKNOWN for no such session. */
  public Future<NodeSession> updatePorts(PortsUpdate update) {
    for (Integer port : update.ports()) {
      if (port == null || !PublicPorts.isAllowed(port)) {
        return refuse("ports update of " + update.nodeId(), LoginFailure.BAD_REQUEST,
            "port " + port + " is not a Funnel port (443, 8443, 10000)");
      }
    }
    List<Integer> ports = PublicPorts.sorted(Set.copyOf(update.ports()));
    long now = System.currentTimeMillis();
    Future<Optional<Live>> change = update.nodeId() == null || update.gatewayId() == null
        ? Future.succeededFuture(Optional.empty())
        : sessions.updatePorts(update.nodeId(), update.gatewayId(), update.epoch(), ports, now,
            now + options.getLeaseMillis());
    return change.compose(changed -> {
      if (changed.isEmpty()) {
        return refuse("ports update of " + update.nodeId(), LoginFailure.LEASE_UNKNOWN,
            "no live lease for node " + update.nodeId() + " epoch " + update.epoch() + "; log in again");
      }
      Live l = changed.get();
      routeChanged(l.fqdn());
      LOG.log(Level.INFO, "node {0} now funnels ports {1}", l.fqdn(), ports);
      String tailnet = snapshot.nodeById(l.nodeId()).map(NodeIdentity::tailnet).orElse("");
      return Future.succeededFuture(new NodeSession(l.nodeId(), l.fqdn(), tailnet, l.epoch(), ports,
          options.getLeaseMillis(), refusedPorts(tailnet, ports)));
    });
  }

  /**
   * A node's ACME dns-01 value: published to public DNS ({@link Addresses#DNS_CHALLENGE}) when the
   * request comes from a live session (as its gateway vouches) and names that session's own name;
   * LEASE_UNKNOWN without such a session, BAD_REQUEST for another name or a malformed value.
   */
  public Future<Void> acmeChallenge(AcmeChallengeRequest request) {
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
    String name = request.name().toLowerCase(java.util.Locale.ROOT);
    if (!name.equals(own)) {
      return refuse(where, LoginFailure.BAD_REQUEST, "a node may set _acme-challenge only for its own name " + own);
    }
    vertx.eventBus().publish(Addresses.DNS_CHALLENGE, new DnsChallenge(own, request.value(), request.present()));
    LOG.log(Level.INFO, "ACME dns-01 value for {0} {1}", own, request.present() ? "set" : "removed");
    return Future.succeededFuture();
  }

  /** Drops sessions whose lease lapsed, publishing a route change for each; completes with how many. */
  public Future<Integer> sweep() {
    return sessions.sweep(System.currentTimeMillis()).map(expired -> {
      for (Live l : expired) {
        LOG.log(Level.INFO, "node {0} lease on {1} (epoch {2}) lapsed; route withdrawn", l.fqdn(), l.gatewayId(),
            l.epoch());
        announceWithdrawn(l);
      }
      return expired.size();
    });
  }

  /**
   * A cluster member left: withdraw at once every session held by its gateways (their leases would
   * otherwise take up to a lease period to lapse). Called on a Hazelcast event thread.
   */
  private void memberLeft(String member, FunnelCluster cluster) {
    vertx.executeBlocking(() -> ClusterSessionTable.wasRegistry(cluster.hazelcast(), member), false)
        .onSuccess(registry -> {
          if (registry) {
            LOG.log(Level.WARNING, "registry {0} left the cluster", member);
            vertx.eventBus().publish(Addresses.REGISTRY_LEFT, member);
          }
        });
    vertx.executeBlocking(() -> ClusterSessionTable.gatewaysOf(cluster.hazelcast(), member), false)
        .onSuccess(gateways -> gateways.forEach(id -> vertx.eventBus().publish(Addresses.GATEWAY_LEFT, id)))
        .compose(gateways -> gateways.isEmpty() ? Future.succeededFuture(List.<Live>of())
            : sessions.removeGateways(gateways).onSuccess(removed -> LOG.log(Level.WARNING,
                "gateway(s) {0} left the cluster with member {1}; {2} sessions withdrawn", gateways, member,
                removed.size())))
        .onSuccess(removed -> removed.forEach(this::announceWithdrawn))
        .onFailure(err -> LOG.log(Level.WARNING, "withdrawing the sessions of member " + member + " failed: " + err
            + "; their leases will lapse"));
  }

  /**
   * Another registry changed the shared store ({@link Addresses#CONTROL_CHANGED}, body: its id):
   * reload the snapshot, then tell frontends to drop routes they cached from the old one.
   */
  public Future<Void> controlChanged(String fromRegistry) {
    if (registryId.equals(fromRegistry)) {
      return Future.succeededFuture();
    }
    return blocking(() -> {
      synchronized (writeLock) {
        snapshot = Snapshot.of(store.tailnets(), store.nodes());
        LOG.log(Level.DEBUG, "snapshot reloaded after a change by registry {0}: {1} tailnets, {2} nodes",
            fromRegistry, snapshot.tailnets().size(), snapshot.nodesById().size());
      }
      aliases.reloadBlocking();
      vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
      return null;
    });
  }

  // ================================================================ admin: tailnets

  public List<Tailnet> tailnets() {
    return snapshot.tailnets().values().stream().sorted(Comparator.comparing(Tailnet::name)).toList();
  }

  public Future<Tailnet> tailnet(String name) {
    return snapshot.tailnet(name).map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(AdminException.notFound("no tailnet " + name)));
  }

  public Future<Tailnet> createTailnet(String name, boolean funnel, Set<Integer> ports) {
    if (!Hostnames.isLabel(name)) {
      return Future.failedFuture(AdminException.badRequest("tailnet name '" + name + "' is not a DNS label"));
    }
    Tailnet tailnet = new Tailnet(name, funnel, List.copyOf(new TreeSet<>(ports)), now());
    return blocking(() -> {
      synchronized (writeLock) {
        if (!store.insertTailnet(tailnet)) {
          throw AdminException.conflict("tailnet " + name + " already exists");
        }
        snapshot = snapshot.withTailnet(tailnet);
        publishControlChanged();
        LOG.log(Level.INFO, "tailnet {0} added (funnel {1}, ports {2})", name, funnel ? "on" : "off", tailnet.ports());
        vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
        return tailnet;
      }
    });
  }

  /** Changes funnel and/or ports (null: keep). */
  public Future<Tailnet> updateTailnet(String name, Boolean funnel, Set<Integer> ports) {
    return blocking(() -> {
      synchronized (writeLock) {
        Tailnet changed = store.updateTailnet(name, funnel, ports)
            .orElseThrow(() -> AdminException.notFound("no tailnet " + name));
        snapshot = snapshot.withTailnet(changed);
        publishControlChanged();
        LOG.log(Level.INFO, "tailnet {0} changed (funnel {1}, ports {2})", name, changed.funnel() ? "on" : "off",
            changed.ports());
        vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
        aliases.publishIfMoved();
        return changed;
      }
    });
  }

  /** Removes a tailnet with its keys and nodes, kicking every node's sessions. */
  public Future<Void> deleteTailnet(String name) {
    return blocking(() -> {
      synchronized (writeLock) {
        List<NodeIdentity> nodes = store.deleteTailnet(name)
            .orElseThrow(() -> AdminException.notFound("no tailnet " + name));
        snapshot = snapshot.withoutTailnet(name);
        publishControlChanged();
        LOG.log(Level.INFO, "tailnet {0} removed with {1} nodes", name, nodes.size());
        nodes.forEach(n -> kick(n, "tailnet " + name + " was removed"));
        aliases.reloadBlocking();
        vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
        return null;
      }
    });
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
    if (expiry != null && (expiry.isNegative() || expiry.isZero() || expiry.getSeconds() > MAX_KEY_EXPIRY_SECONDS)) {
      return Future.failedFuture(AdminException.badRequest("expiry must be between 1 second and 10 years"));
    }
    return blocking(() -> {
      synchronized (writeLock) {
        if (store.tailnet(tailnet).isEmpty()) {
          throw AdminException.notFound("no tailnet " + tailnet);
        }
        Instant now = now();
        String key = Secrets.newAuthKey();
        AuthKeyInfo info = new AuthKeyInfo(Secrets.newKeyId(), tailnet, reusable,
            expiry == null ? null : now.plus(expiry), null, null, now);
        store.insertKey(info, Secrets.hash(key));
        LOG.log(Level.INFO, "auth key {0} added for tailnet {1} ({2}{3})", info.id(), tailnet,
            reusable ? "reusable" : "one-off", info.expiresAt() == null ? "" : ", expires " + info.expiresAt());
        return new NewKey(info, key);
      }
    });
  }

  public Future<List<AuthKeyInfo>> keys() {
    return blocking(store::keys);
  }

  /** Revokes a key: nodes enrolled with it are kicked and can no longer log in. */
  public Future<AuthKeyInfo> revokeKey(String id) {
    return blocking(() -> {
      synchronized (writeLock) {
        ControlStore.Revocation revocation = store.revokeKey(id, now())
            .orElseThrow(() -> AdminException.notFound("no auth key " + id));
        LOG.log(Level.INFO, "auth key {0} revoked; kicking {1} nodes", id, revocation.nodes().size());
        revocation.nodes().forEach(n -> kick(n, "auth key " + id + " was revoked"));
        return revocation.key();
      }
    });
  }

  // ================================================================ admin: nodes

  /** A node identity with its live state. {@code gateways} newest first; {@code ports} of the newest session. */
  /** {@code refused}: the ports it funnels that the public side does not route, with why ({@link PortRefusals}). */
  /**
   * @param certNotAfter when the node's certificate expires, as it last said through a gateway; null
   *                     while unknown (not said since this registry started, or no certificate: tcp:// only)
   */
  public record NodeView(NodeIdentity node, String fqdn, boolean online, List<String> gateways, List<Integer> ports,
                         Map<Integer, String> refused, java.time.Instant certNotAfter) {

    public NodeView(NodeIdentity node, String fqdn, boolean online, List<String> gateways, List<Integer> ports,
                    Map<Integer, String> refused) {
      this(node, fqdn, online, gateways, ports, refused, null);
    }

    /** Whole days until the certificate expires (negative once expired); null when unknown. */
    public Long certDaysLeft(java.time.Instant now) {
      return certNotAfter == null ? null : Math.floorDiv(certNotAfter.getEpochSecond() - now.getEpochSecond(), 86_400L);
    }
  }

  /** Nodes' certificate expiries (epoch seconds) as their gateways reported them; only known nodes. */
  private final Map<String, Long> certNotAfter = new java.util.concurrent.ConcurrentHashMap<>();

  /** A gateway's {@code NodeCertReport}: kept for a node this registry knows, ignored otherwise. */
  public void certificateReported(String nodeId, long notAfter) {
    if (nodeId != null && snapshot.nodeById(nodeId).isPresent()) {
      certNotAfter.put(nodeId, notAfter);
    }
  }

  /**
   * Which of {@code ports} of a node in {@code tailnet} the public side will not route, and why: the
   * tailnet's policy as it stands, or no frontend listening on the port (as far as this registry
   * heard; nothing is claimed before any frontend reported).
   */
  public Map<Integer, String> refusedPorts(String tailnet, List<Integer> ports) {
    Optional<Tailnet> t = snapshot.tailnet(tailnet);
    return PortRefusals.of(ports, tailnet, t.map(Tailnet::funnel).orElse(false),
        t.map(Tailnet::ports).orElse(List.of()), clusterStats.listenedPorts(System.currentTimeMillis()));
  }

  /** What this registry heard of every service's figures. */
  ClusterStats clusterStats() {
    return clusterStats;
  }

  /** This registry's id (its member id in the cluster's figures). */
  public String registryId() {
    return registryId;
  }

  public List<NodeView> nodes() {
    long now = System.currentTimeMillis();
    List<NodeView> out = new ArrayList<>();
    snapshot.nodesById().values().stream()
        .sorted(Comparator.comparing(NodeIdentity::tailnet).thenComparing(NodeIdentity::name))
        .forEach(n -> {
          List<Live> live = sessions.live(n.id(), now);
          List<Integer> ports = live.isEmpty() ? List.of() : live.get(0).ports();
          Long cert = certNotAfter.get(n.id());
          out.add(new NodeView(n, n.fqdn(domain), !live.isEmpty(), live.stream().map(Live::gatewayId).toList(),
              ports, refusedPorts(n.tailnet(), ports), cert == null ? null : java.time.Instant.ofEpochSecond(cert)));
        });
    return out;
  }

  /** Forgets a node (its name is free again), kicking its sessions. */
  public Future<NodeIdentity> deleteNode(String name, String tailnet) {
    if (!Hostnames.isLabel(name) || !Hostnames.isLabel(tailnet)) {
      return Future.failedFuture(AdminException.badRequest("node must be NAME.TAILNET, both DNS labels"));
    }
    return blocking(() -> {
      synchronized (writeLock) {
        NodeIdentity node = store.deleteNode(name, tailnet)
            .orElseThrow(() -> AdminException.notFound("no node " + name + "." + tailnet));
        snapshot = snapshot.withoutNodes(List.of(node));
        publishControlChanged();
        LOG.log(Level.INFO, "node {0} ({1}) removed", node.shortName(), node.id());
        kick(node, "node " + node.shortName() + " was removed");
        aliases.reloadBlocking();
        return node;
      }
    });
  }

  /** Answers when the store does; for health checks. */
  public Future<Void> ping() {
    return vertx.executeBlocking(() -> {
      store.ping();
      return null;
    }, false);
  }

  // ================================================================ helpers

  /** Tells every gateway to close the node's sessions, drops them here and withdraws the route. */
  private void kick(NodeIdentity node, String reason) {
    vertx.eventBus().publish(Addresses.SESSION_KICK, new SessionKick(node.id(), reason));
    List<Live> dropped = awaitTable(sessions.removeNode(node.id()));
    dropped.forEach(this::announceWithdrawn);
    routeChanged(node.fqdn(domain));
    if (!dropped.isEmpty()) {
      LOG.log(Level.INFO, "node {0}: {1}; {2} sessions kicked", node.shortName(), reason, dropped.size());
    }
  }

  void publishControlChanged() {
    vertx.eventBus().publish(Addresses.CONTROL_CHANGED, registryId);
  }

  /** The next session epoch (see {@link #epochs}). */
  private long nextEpoch() {
    return epochs.updateAndGet(last -> Math.max(last + 1, System.currentTimeMillis() * 1000));
  }

  /**
   * Waits for a session-table change from blocking code (a worker thread, holding the write lock),
   * bounded by the cluster timeout; the change completes on the caller's event loop, never this thread.
   */
  private <T> T awaitTable(Future<T> change) {
    try {
      return change.toCompletionStage().toCompletableFuture()
          .get(options.getClusterTimeoutMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("the session table failed: " + e.getCause(), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the session table did not answer within " + options.getClusterTimeoutMillis()
          + " ms", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void routeChanged(String fqdn) {
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, new RouteChanged(fqdn));
  }

  /**
   * One session is no longer routed: out of this registry's view at once, and everyone told
   * ({@link Addresses#SESSION_WITHDRAWN}; frontends fail opens waiting on it, other registries drop
   * it from their views) together with the route change for its name.
   */
  private void announceWithdrawn(Live l) {
    sessions.markWithdrawn(l.nodeId(), l.gatewayId(), l.epoch());
    vertx.eventBus().publish(Addresses.SESSION_WITHDRAWN, new SessionWithdrawn(l.nodeId(), l.fqdn(), l.gatewayId(),
        l.epoch()));
    routeChanged(l.fqdn());
  }

  private <T> Future<T> blocking(Callable<T> work) {
    return vertx.executeBlocking(work, false);
  }

  private static ReplyException refusal(String where, LoginFailure failure, String reason) {
    LOG.log(Level.INFO, "{0}: {1}; rejecting", where, reason);
    return failure.exception(reason);
  }

  private static <T> Future<T> refuse(String where, LoginFailure failure, String reason) {
    return Future.failedFuture(refusal(where, failure, reason));
  }

  private static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MILLIS);
  }

  private static String normaliseDomain(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    return d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
  }

  /** The durable store; for {@link AliasService} (call from a worker only). */
  ControlStore store() {
    return store;
  }

  /** The node identity {@code nodeId}, from the snapshot. */
  Optional<NodeIdentity> nodeById(String nodeId) {
    return snapshot.nodeById(nodeId);
  }

  /** The node {@code name} of {@code tailnet}, from the snapshot. */
  Optional<NodeIdentity> node(String name, String tailnet) {
    return snapshot.node(name, tailnet);
  }

  /** The tailnet {@code name}, from the snapshot. */
  Optional<Tailnet> tailnetNow(String name) {
    return snapshot.tailnet(name);
  }

  /** The custom domains (aliases) of this registry's nodes. */
  public AliasService aliases() {
    return aliases;
  }

  /** Sessions held (live or awaiting the sweep); for tests and metrics. */
  int sessionCount() {
    return sessions.size();
  }
}
