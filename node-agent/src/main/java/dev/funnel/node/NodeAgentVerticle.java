package dev.funnel.node;

import dev.funnel.common.net.DataLegTls;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.ControlMessage;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.util.NetUtil;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.micrometer.backends.BackendRegistries;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The device side of Funnel. Keeps one control session to a gateway (TLS, the server's CA checked),
 * or, with {@code sessions = 2} and two or more servers, one on each of two different gateways at
 * once (so the registry holds two routes and losing one gateway loses no reachability; the lost
 * session is replaced on another gateway),
 * logs in with a proof of the node key (and the auth key, until its first Welcome: see
 * {@link #authKeyForLogin()}), keeps a warm pool of data connections, and
 * answers each ingress offer from its own serve configuration only: it never dials anything but a
 * configured target or this node's terminator.
 *
 * <p>{@link #start()} completes when the first session is welcomed. A first login that the server
 * refuses fails it (so {@code funnel node} exits non-zero); a server that cannot be reached is retried
 * with backoff meanwhile. Once a session has existed, every loss is followed by a reconnect with
 * jittered exponential backoff, rotating through the configured servers.
 *
 * <p>All state is confined to this verticle's event loop, except the few accessors meant for the
 * launcher and tests, which read atomics.
 */
public class NodeAgentVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(NodeAgentVerticle.class.getName());

    /** Lost sessions kept for reporting while no other session is up; past this the oldest is dropped. */
  static final int MAX_LOSSES_TO_REPORT = 8;
  /** A loss not reported within this is dropped (the registry has withdrawn it by its lease by then). */
  static final long LOSS_REPORT_MAX_AGE_MILLIS = 60_000;

  private record PendingLoss(ControlMessage.SessionLost lost, long atNanos) {
  }

  private final NodeOptions options;
  private final MeterRegistry meterRegistry;
  private final AtomicReference<Map<Integer, ServeTarget>> serve;
  /** The gates of tcp:// ports, by public port (a port without one is not gated). */
  private final AtomicReference<Map<Integer, TcpGate>> tcpGates = new AtomicReference<>(Map.of());
  private volatile Map<Integer, dev.funnel.common.serve.GatePolicy> tcpRules = Map.of();
  private final Promise<Void> firstWelcome = Promise.promise();
  private final AtomicLong linksOpened = new AtomicLong();
  private final List<Slot> slots = new ArrayList<>();
  /** Sessions lost without a bye, not yet reported through another session (oldest first, bounded). */
  private final ArrayDeque<PendingLoss> lossesToReport = new ArrayDeque<>();
  /** Offers answered while a probe runs ({@link PublicPathProbe}). */
  private final OfferLog offers = new OfferLog();
  /** The custom domains the registry knows for this node, with their state. */
  private final NodeAliases aliases = new NodeAliases();

  private NetClient gatewayClient;
  private volatile HostPort acmeResponder;
  /** The notAfter (epoch seconds) of the certificate the node's terminator presents; 0 while there is none. */
  private volatile long certificateNotAfter;
  private volatile io.netty.handler.ssl.SslContext linkTls;
  private NodeKey nodeKey;
  private NodeMetrics metrics;
  private boolean everWelcomed;
  private volatile boolean stopped;

  /**
   * One of the sessions this node keeps, each on a different gateway: its current session (being
   * set up, or up), the server it is on or will dial next, its own backoff and reconnect timer.
   * Mutated on the event loop only; {@code session} and {@code up} are read by the accessors.
   */
  private final class Slot {
    final Backoff backoff = new Backoff(options.getBackoffMinMillis(), options.getBackoffMaxMillis(), new SecureRandom());
    volatile Session session;
    volatile boolean up;
    /** The server this slot's session is on, or the one it will dial next; no other slot takes it. */
    HostPort server;
    /** Where this slot's rotation through {@code servers} continues. */
    int nextServer;
    long reconnectTimer = -1;
    /** Login failures already said at WARNING (before the first session; a few kinds at most). */
    static final int LOGIN_FAILURES_REMEMBERED = 16;
    final java.util.Set<String> loginFailures = new java.util.HashSet<>();

    Slot(int index) {
      this.nextServer = index;
    }
  }

  public NodeAgentVerticle(NodeOptions options) {
    this(options, null);
  }

  /** With an explicit meter registry (tests); null means Vert.x's default registry, or a private one. */
  public NodeAgentVerticle(NodeOptions options, MeterRegistry meterRegistry) {
    this.options = Objects.requireNonNull(options, "options");
    this.meterRegistry = meterRegistry;
    this.serve = new AtomicReference<>(Map.copyOf(options.getServe()));
  }

  @Override
  public Future<?> start() {
    List<HostPort> servers = options.getServers();
    if (servers.isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("no server to connect to (--server HOST:PORT)"));
    }
    if (options.getHostname() == null || options.getHostname().isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("no hostname (--hostname)"));
    }
    int distinct = new HashSet<>(servers).size();
    int wanted = Math.max(1, Math.min(2, options.getSessions()));
    if (wanted > distinct) {
      LOG.log(Level.WARNING, "{0} sessions asked for, but only {1} distinct server(s) given; keeping {1}",
          wanted, distinct);
    }
    for (int i = 0; i < Math.min(wanted, distinct); i++) {
      slots.add(new Slot(i));
    }
    MeterRegistry registry = meterRegistry;
    if (registry == null) {
      registry = BackendRegistries.getDefaultNow();
    }
    metrics = new NodeMetrics(registry != null ? registry : new SimpleMeterRegistry());
    dev.funnel.node.acme.AcmeMetrics.on(metrics.registry());
    metrics.watch(this);
    updateTcpRules(tcpRules);
    LOG.log(Level.INFO, "TLS to gateways: {0}", DataLegTls.describe());
    gatewayClient = vertx.createNetClient(new NetClientOptions()
        .setSsl(true)
        .setTrustOptions(options.getTrust())
        .setHostnameVerificationAlgorithm("HTTPS")
        .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
        .setConnectTimeout(clampInt(options.getDialTimeoutMillis()))
        .setSslHandshakeTimeout(options.getDialTimeoutMillis())
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
        .setSslEngineOptions(DataLegTls.engine())
        .setTcpNoDelay(true));
    return vertx.executeBlocking(() -> {
          linkTls = dev.funnel.common.net.LinkTls.client(vertx, options.getTrust(), null);
          if (!hasAuthKey() && !NodeKey.exists(options.getStateDir())) {
            throw new IllegalArgumentException("no auth key (--authkey) and no node key in " + options.getStateDir()
                + ": a node's first login needs an auth key; later ones prove the node key kept there");
          }
          return NodeKey.loadOrCreate(options.getStateDir());
        })
        .compose(key -> {
          nodeKey = key;
          // One session first: a new node enrols with it; the others log in by the node key after.
          connect(slots.get(0));
          return firstWelcome.future();
        })
        .onFailure(err -> stopEverything());
  }

  @Override
  public Future<?> stop() {
    stopEverything();
    return Future.succeededFuture();
  }

  /** Completes when the first session is welcomed; fails if the first login is refused. */
  public Future<Void> sessionUp() {
    return firstWelcome.future();
  }

  /** This node's custom domains (the registry's word, through the gateway). */
  public NodeAliases aliases() {
    return aliases;
  }

  /** The public name a session that is up was welcomed as; empty while no session is up. */
  public Optional<String> fqdn() {
    Session s = anyUp();
    return s == null ? Optional.empty() : Optional.ofNullable(s.fqdn());
  }

  /** Link connections (HTTP/2) of the sessions that are up. */
  public int linkConnections() {
    int links = 0;
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (slot.up && s != null) {
        links += s.linkCount();
      }
    }
    return links;
  }

  /** How many sessions are up right now (0, 1, or 2 with {@code sessions = 2}). */
  public int upSessions() {
    int up = 0;
    for (Slot slot : List.copyOf(slots)) {
      up += slot.up ? 1 : 0;
    }
    return up;
  }

  /** The gateways of the sessions that are up. */
  public List<HostPort> upServers() {
    List<HostPort> out = new ArrayList<>();
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (slot.up && s != null) {
        out.add(s.server());
      }
    }
    return out;
  }

  private Session anyUp() {
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (slot.up && s != null) {
        return s;
      }
    }
    return null;
  }

  /** One session as {@code funnel status} shows it. */
  public record SessionInfo(HostPort server, String gatewayId, boolean up, int links, List<Integer> ports,
                            Map<Integer, String> refused) {
  }

  /** The sessions this node keeps (one per slot that has a session or is dialling one). */
  public List<SessionInfo> sessions() {
    List<SessionInfo> out = new ArrayList<>();
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (s != null) {
        out.add(new SessionInfo(s.server(), s.gatewayId(), slot.up, s.linkCount(), s.welcomedPorts(), s.refused()));
      }
    }
    return out;
  }

  /**
   * Ports this node funnels that the server said it does not route (the tailnet's policy, or no
   * public listener), with why, as the sessions that are up were told at their last Welcome.
   */
  public Map<Integer, String> refusedPorts() {
    Map<Integer, String> out = new java.util.TreeMap<>();
    for (Slot slot : List.copyOf(slots)) {
      Session s = slot.session;
      if (slot.up && s != null) {
        s.refused().forEach(out::putIfAbsent);
      }
    }
    return out;
  }

  /**
   * Asks the gateway of a session that is up to probe this node's public path on {@code port}
   * ({@link PublicPathProbe} judges the result); fails when no session is up or no reply comes.
   */
  Future<dev.funnel.common.bus.ProbeResult> requestProbe(int port, String fingerprint) {
    if (context == null) {
      return Future.failedFuture("no session is up");
    }
    Promise<dev.funnel.common.bus.ProbeResult> done = Promise.promise();
    context.runOnContext(v -> {
      Session s = anyUp();
      if (s == null || stopped) {
        done.fail("no session is up");
      } else {
        s.sendProbe(port, fingerprint).onComplete(done);
      }
    });
    return done.future();
  }

  OfferLog offers() {
    return offers;
  }

  /** Link connections ever dialled (a tunnel dials none: it is a stream on a link). */
  public long linksOpened() {
    return linksOpened.get();
  }

  /**
   * Replaces what this node funnels. The new snapshot applies to the next offer at once (a removed
   * port is refused from now on); the gateway is told with a ServeUpdate. Completes when the
   * gateway's answering Welcome arrives, or at once when no session is up (the next login carries
   * the new ports); fails if the session ends or the gateway does not answer in time.
   */
  public Future<Void> updateServe(Map<Integer, ServeTarget> newServe) {
    Map<Integer, ServeTarget> snapshot = Map.copyOf(newServe);
    serve.set(snapshot);
    LOG.log(Level.INFO, "serve config now {0}", describe(snapshot));
    if (context == null) {
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      List<Future<Void>> updates = new ArrayList<>();
      for (Slot slot : slots) {
        Session s = slot.session;
        if (slot.up && s != null && !stopped) {
          updates.add(s.sendServeUpdate(sortedPorts(snapshot)));
        }
      }
      Future.all(updates).<Void>mapEmpty().onComplete(done);
    });
    return done.future();
  }

  /**
   * Replaces the gates of stream ports ({@code tcp://}, {@code tls-terminated-tcp://}): each port's
   * policy ({@code --allow-cidr}, {@code --deny-cidr}, {@code --rate-limit} as a connection rate),
   * checked on each ingress offer before anything is dialled; applies to the next offer. Rate
   * counts start over. HTTP ports' policies are the terminator's: do not pass them here.
   */
  public void updateTcpRules(Map<Integer, dev.funnel.common.serve.GatePolicy> rules) {
    tcpRules = Map.copyOf(rules);
    if (metrics == null) {
      return; // built at start, on the registry chosen there
    }
    Map<Integer, TcpGate> gates = new java.util.HashMap<>();
    rules.forEach((port, r) -> {
      if (!r.allowCidrs().isEmpty() || !r.denyCidrs().isEmpty() || r.rateLimit() != null) {
        gates.put(port, new TcpGate(port, r, metrics.registry()));
      }
    });
    tcpGates.set(Map.copyOf(gates));
    if (!gates.isEmpty()) {
      LOG.log(Level.INFO, "tcp gates now {0}", new java.util.TreeMap<>(gates).entrySet().stream()
          .map(e -> e.getKey() + ": " + e.getValue().policy().describe()).collect(java.util.stream.Collectors.joining(", ")));
    }
  }

  /** The gate of a tcp:// port, if it has one. */
  Optional<TcpGate> tcpGate(int port) {
    return Optional.ofNullable(tcpGates.get().get(port));
  }

  /** The gates of tcp:// ports now, by port (for {@code serve list}). */
  public Map<Integer, TcpGate> tcpGates() {
    return tcpGates.get();
  }

  /**
   * Asks the server's CA to sign a PKCS#10 request (PEM) for this node's name; completes with the
   * certificate chain (PEM). Fails when no session is up, the server refuses, or no reply comes in time.
   */
  public Future<String> signCertificate(String csrPem) {
    if (context == null) {
      return Future.failedFuture("no session is up");
    }
    Promise<String> done = Promise.promise();
    context.runOnContext(v -> {
      Session s = anyUp();
      if (s == null || stopped) {
        done.fail("no session is up");
      } else {
        s.sendSignRequest(csrPem).onComplete(done);
      }
    });
    return done.future();
  }

  /**
   * While an ACME order of this node waits for its tls-alpn-01 challenge: where the challenge
   * responder listens (port-443 streams whose ClientHello offers only {@code acme-tls/1} go there);
   * null when no order waits. Any thread.
   */
  public void setAcmeResponder(HostPort responder) {
    this.acmeResponder = responder;
  }

  /** The registry this agent's meters are on (the ACME meters join them). */
  public MeterRegistry meterRegistry() {
    return metrics.registry();
  }

  /** True when the current serve config funnels {@code port}. */
  public boolean serves(int port) {
    return serve.get().containsKey(port);
  }

  /**
   * Asks the server, through a session that is up, to set ({@code present}) or remove the ACME
   * dns-01 value {@code TXT digest} at {@code _acme-challenge.name} ({@code name} must be this node's
   * own name; the registry checks). Completes once the gateway confirms; fails when no session is up,
   * the gateway does not support it, refuses, or does not answer within the login timeout.
   */
  public Future<Void> setDnsChallenge(String name, String digest, boolean present) {
    if (context == null) {
      return Future.failedFuture("no session is up");
    }
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      Session s = anyUp();
      if (s == null || stopped) {
        done.fail("no session is up");
      } else {
        s.sendAcmeTxt(name, digest, present).onComplete(done);
      }
    });
    return done.future();
  }

  /**
   * The certificate the node presents (its TLS terminator's) is valid until {@code notAfter}: every
   * session that is up tells its gateway now, and every session welcomed later tells its own, so the
   * server side can count certificates about to expire ({@code funnel_gateway_node_certificates})
   * without scraping nodes. Gateways that do not offer it are not told. Any thread.
   */
  public void certificateExpiry(java.time.Instant notAfter) {
    long seconds = notAfter.getEpochSecond();
    if (seconds == certificateNotAfter) {
      return;
    }
    certificateNotAfter = seconds;
    if (context == null) {
      return;   // not started yet: sessions send it when welcomed
    }
    context.runOnContext(v -> {
      for (Slot slot : slots) {
        Session s = slot.session;
        if (slot.up && s != null) {
          s.sendCertificateExpiry(seconds);
        }
      }
    });
  }

  // ---- for Session, LinkConnection and IngressStream ----

  HostPort acmeResponder() {
    return acmeResponder;
  }


  NodeOptions options() {
    return options;
  }

  Map<Integer, ServeTarget> serveSnapshot() {
    return serve.get();
  }

  NodeKey nodeKey() {
    return nodeKey;
  }

  /**
   * The auth key a Hello carries: the configured one until a session has been welcomed, then none.
   * Once enrolled, the node logs in by its node key alone, so a node the admin removed (or whose
   * key was revoked) is refused instead of enrolling itself again with a reusable key.
   */
  String authKeyForLogin() {
    return everWelcomed || !hasAuthKey() ? null : options.getAuthKey();
  }

  private boolean hasAuthKey() {
    return options.getAuthKey() != null && !options.getAuthKey().isEmpty();
  }

  NodeMetrics metrics() {
    return metrics;
  }

  /** The TLS context of link connections (made at start). */
  io.netty.handler.ssl.SslContext linkTls() {
    linksOpened.incrementAndGet();
    return linkTls;
  }

  io.vertx.core.Vertx vertx() {
    return vertx;
  }

  boolean stopped() {
    return stopped;
  }

  /** Dials {@code server} over TLS for a control connection (link connections are dialled by {@link LinkConnection}). */
  Future<io.vertx.core.net.NetSocket> dialGateway(HostPort server) {
    ConnectOptions connect = new ConnectOptions().setHost(server.host()).setPort(server.port()).setSsl(true);
    if (!NetUtil.isValidIpV4Address(server.host()) && !NetUtil.isValidIpV6Address(server.host())) {
      connect.setSniServerName(server.host());
    }
    return gatewayClient.connect(connect);
  }

  List<Integer> currentPorts() {
    return sortedPorts(serve.get());
  }

  /** A session was welcomed (for the first time, or again after a ServeUpdate). */
  void welcomed(Session s, boolean first) {
    Slot slot = slotOf(s);
    if (slot == null) {
      return;
    }
    if (first) {
      slot.up = true;
      boolean firstEver = !everWelcomed;
      everWelcomed = true;
      slot.backoff.reset();
      LOG.log(Level.INFO, "session up as {0} on {1} (ports {2}; {3} of {4} sessions up)", s.fqdn(), s.server(),
          join(s.welcomedPorts()), upSessions(), slots.size());
      logRefused(s);
      firstWelcome.tryComplete();
      reportLosses();
      if (certificateNotAfter != 0) {
        s.sendCertificateExpiry(certificateNotAfter);
      }
      List<Integer> ports = currentPorts();
      if (!s.welcomedPorts().equals(ports)) {
        // The serve config changed while this session was logging in (its Hello carried the old ports).
        s.sendServeUpdate(ports).onFailure(err -> LOG.log(Level.WARNING, "serve update on {0} failed: {1}",
            s.server(), reason(err)));
      }
      if (firstEver) {
        for (Slot other : slots) {
          if (other.session == null && other.reconnectTimer < 0 && other.server == null) {
            connect(other);
          }
        }
      }
    } else {
      LOG.log(Level.INFO, "serve update accepted: {0} on {1} (ports {2})", s.fqdn(), s.server(),
          join(s.welcomedPorts()));
      logRefused(s);
    }
  }

  private static void logRefused(Session s) {
    s.refused().forEach((port, reason) -> LOG.log(Level.WARNING,
        "public port {0} of {1} is not routed: {2}; clients are refused until that changes", Integer.toString(port),
        s.fqdn(), reason));
  }

  /** A session (or an attempt at one) ended; decide between giving up and reconnecting. */
  void sessionEnded(Session s, String reason, boolean refused) {
    Slot slot = slotOf(s);
    if (slot != null) {
      ended(slot, reason, refused);
      if (!stopped) {
        s.lostWithoutBye(reason).ifPresent(lost -> {
          lossesToReport.addLast(new PendingLoss(lost, System.nanoTime()));
          while (lossesToReport.size() > MAX_LOSSES_TO_REPORT) {
            lossesToReport.removeFirst();
          }
          reportLosses();
        });
      }
    }
  }

  /**
   * Sends every pending loss through each session that is up (but never to the lost session's own
   * gateway), so the registry withdraws those routes now rather than when the cluster notices the
   * gateway is gone. Kept for the next session to come up while none is.
   */
  private void reportLosses() {
    long now = System.nanoTime();
    lossesToReport.removeIf(p -> now - p.atNanos() > TimeUnit.MILLISECONDS.toNanos(LOSS_REPORT_MAX_AGE_MILLIS));
    if (lossesToReport.isEmpty()) {
      return;
    }
    lossesToReport.removeIf(pending -> {
      boolean sent = false;
      for (Slot slot : slots) {
        Session s = slot.session;
        if (slot.up && s != null && !pending.lost().gatewayId().equals(s.gatewayId())) {
          s.reportLost(pending.lost());
          sent = true;
          LOG.log(Level.INFO, "reported the loss of the session on {0} (epoch {1}) through {2}",
              pending.lost().gatewayId(), pending.lost().epoch(), s.server());
        }
      }
      return sent;
    });
  }

  private void ended(Slot slot, String reason, boolean refused) {
    HostPort server = slot.server;
    slot.session = null;
    slot.up = false;
    slot.server = null;
    if (stopped) {
      return;
    }
    if (refused && !everWelcomed) {
      LOG.log(Level.ERROR, "the server {0} refused this node: {1}", server, reason);
      firstWelcome.tryFail(new IllegalStateException("the server refused this node: " + reason));
      stopEverything();
      return;
    }
    long delay = slot.backoff.next();
    HostPort next = pickServer(slot);
    if (everWelcomed) {
      LOG.log(Level.WARNING, "session with {0} ended: {1}; reconnecting to {2} in {3} ms (attempt {4}; {5} of {6}"
          + " sessions up)", server, reason, next, delay, slot.backoff.attempts(), upSessions(), slots.size());
    } else {
      // One WARNING per kind of failure, naming the flag and what to do; the retries after it at INFO.
      boolean first = slot.loginFailures.size() < Slot.LOGIN_FAILURES_REMEMBERED && slot.loginFailures.add(reason);
      if (first) {
        LOG.log(Level.WARNING, "--server {0}: cannot log in: {1}; check that funnel server or funnel gateway runs"
            + " there (its ready line names the gateway HOST:PORT); retrying with backoff", server, reason);
      }
      LOG.log(first ? Level.DEBUG : Level.INFO, "cannot log in at {0}: {1}; retrying at {2} in {3} ms (attempt {4})",
          server, reason, next, delay, slot.backoff.attempts());
    }
    slot.reconnectTimer = vertx.setTimer(delay, id -> {
      slot.reconnectTimer = -1;
      dial(slot, next);
    });
  }

  private void connect(Slot slot) {
    dial(slot, pickServer(slot));
  }

  private void dial(Slot slot, HostPort server) {
    if (stopped) {
      return;
    }
    slot.server = server;
    dialGateway(server).onComplete(ar -> {
      if (stopped) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        return;
      }
      if (ar.failed()) {
        ended(slot, "cannot connect: " + reason(ar.cause()), false);
        return;
      }
      Session s = new Session(this, server, ar.result());
      slot.session = s;
      s.begin();
    });
  }

  /**
   * The next server for {@code slot} in its rotation through {@code servers}, skipping any another
   * slot is on (or about to dial), so two sessions are always on two different gateways. Reserves it.
   */
  private HostPort pickServer(Slot slot) {
    List<HostPort> servers = options.getServers();
    for (int k = 0; k < servers.size(); k++) {
      int index = Math.floorMod(slot.nextServer + k, servers.size());
      HostPort candidate = servers.get(index);
      boolean taken = false;
      for (Slot other : slots) {
        taken |= other != slot && candidate.equals(other.server);
      }
      if (!taken) {
        slot.nextServer = index + 1;
        slot.server = candidate;
        return candidate;
      }
    }
    HostPort fallback = servers.get(Math.floorMod(slot.nextServer++, servers.size()));
    slot.server = fallback;
    return fallback;
  }

  private Slot slotOf(Session s) {
    for (Slot slot : slots) {
      if (s != null && slot.session == s) {
        return slot;
      }
    }
    return null;
  }

  private void stopEverything() {
    if (stopped) {
      return;
    }
    stopped = true;
    for (Slot slot : slots) {
      if (slot.reconnectTimer >= 0 && vertx != null) {
        vertx.cancelTimer(slot.reconnectTimer);
      }
      Session s = slot.session;
      slot.session = null;
      slot.up = false;
      if (s != null) {
        s.close("node agent stopping");
      }
    }
    firstWelcome.tryFail("node agent stopped");
  }

  static String reason(Throwable t) {
    String message = t.getMessage();
    return message == null || message.isEmpty() ? t.getClass().getSimpleName() : message;
  }

  static List<Integer> sortedPorts(Map<Integer, ServeTarget> serve) {
    return List.copyOf(new TreeSet<>(serve.keySet()));
  }

  private static String join(List<Integer> ports) {
    StringBuilder out = new StringBuilder();
    for (Integer p : ports) {
      out.append(out.length() == 0 ? "" : ", ").append(p);
    }
    return out.length() == 0 ? "none" : out.toString();
  }

  private static String describe(Map<Integer, ServeTarget> serve) {
    StringBuilder out = new StringBuilder();
    for (Integer port : new TreeSet<>(serve.keySet())) {
      out.append(out.length() == 0 ? "" : ", ").append(port).append('=').append(serve.get(port));
    }
    return out.length() == 0 ? "(nothing funnelled)" : out.toString();
  }

  private static int clampInt(long millis) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
  }
}
