package dev.funnel.node;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.net.DataLegTls;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.ops.Drain;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.micrometer.backends.BackendRegistries;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The device side of Funnel. Keeps one control session to a gateway (TLS, the server's CA checked),
 * or, with {@code sessions = 2} and two or more servers, one on each of two different gateways at
 * once (so the registry holds two routes and losing one gateway loses no reachability; the lost
 * session is replaced on another gateway),
 * logs in with a proof of the node key (and the auth key, until its first Welcome: see
 * {@link SessionSlots#authKeyForLogin()}), keeps a warm pool of data connections, and
 * answers each ingress offer from its own serve configuration only: it never dials anything but a
 * configured target or this node's terminator.
 *
 * <p>{@link #start()} completes when the first session is welcomed. A first login that the server
 * refuses for good ({@link LoginRefusal}) fails it (so {@code funnel node} exits non-zero); a server
 * that cannot be reached, or refuses for now, is retried with backoff meanwhile. Once a session has existed, every loss is followed by a reconnect with
 * jittered exponential backoff, rotating through the configured servers.
 *
 * <p>A thin verticle: it checks the options, loads the node key, and wires the classes that do the
 * work: {@link SessionSlots} (sessions, reconnects, loss reports), {@link ServeState} (serve config
 * and stream ports' gates), {@link ControlDialer}, {@link CertificateExpiry}; offers are answered
 * by {@link IngressStream} on the link connections' loops. Session state is confined to this
 * verticle's event loop, except the few accessors meant for the launcher and tests, which read
 * atomics.
 */
public class NodeAgentVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(NodeAgentVerticle.class.getName());

  private final NodeOptions options;
  private final MeterRegistry meterRegistry;
  private final ServeState serve;
  private final CertificateExpiry certificateExpiry = new CertificateExpiry();
  private final SessionSlots slots;
  private final AtomicLong linksOpened = new AtomicLong();
  /** Offers answered while a probe runs ({@link PublicPathProbe}). */
  private final OfferLog offers = new OfferLog();
  /** The custom domains the registry knows for this node, with their state. */
  private final NodeAliases aliases = new NodeAliases();

  private volatile HostPort acmeResponder;
  private volatile long helloPeekDeadlineMillis = HelloPeek.DEADLINE_MILLIS;
  private volatile SslContext linkTls;
  private NodeKey nodeKey;
  private NodeMetrics metrics;

  public NodeAgentVerticle(NodeOptions options) {
    this(options, null);
  }

  /** With an explicit meter registry (tests); null means Vert.x's default registry, or a private one. */
  public NodeAgentVerticle(NodeOptions options, MeterRegistry meterRegistry) {
    this.options = Objects.requireNonNull(options, "options");
    this.meterRegistry = meterRegistry;
    this.serve = new ServeState(options.getServe());
    this.slots = new SessionSlots(this, options, serve, certificateExpiry);
  }

  @Override
  public Future<?> start() {
    if (options.getServers().isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("no server to connect to (--server HOST:PORT)"));
    }
    if (options.getHostname() == null || options.getHostname().isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("no hostname (--hostname)"));
    }
    slots.open(vertx);
    MeterRegistry registry = meterRegistry;
    if (registry == null) {
      registry = BackendRegistries.getDefaultNow();
    }
    metrics = new NodeMetrics(registry != null ? registry : new SimpleMeterRegistry());
    dev.funnel.node.acme.AcmeMetrics.on(metrics.registry());
    metrics.watch(this);
    serve.start(metrics.registry());
    LOG.log(Level.INFO, "TLS to gateways: {0}", DataLegTls.describe());
    ControlDialer dialer = new ControlDialer(vertx, options);
    return vertx.executeBlocking(() -> {
          linkTls = LinkTls.client(vertx, options.getTrust(), null);
          if (!SessionSlots.hasAuthKey(options) && !NodeKey.exists(options.getStateDir())) {
            throw new IllegalArgumentException("no auth key (--authkey) and no node key in " + options.getStateDir()
                + ": a node's first login needs an auth key; later ones prove the node key kept there");
          }
          return NodeKey.loadOrCreate(options.getStateDir());
        })
        .compose(key -> {
          nodeKey = key;
          // One session first: a new node enrols with it; the others log in by the node key after.
          return slots.connectFirst(dialer);
        })
        .onFailure(err -> slots.stop());
  }

  @Override
  public Future<?> stop() {
    slots.stop();
    return Future.succeededFuture();
  }

  /**
   * The first step of the node's clean stop, before {@link #stop()}: ends every session (the gateway
   * tells the registry, so no new tunnel comes; nothing is dialled again) but leaves their link
   * connections open, then waits until the tunnels running on them have ended or
   * {@code timeoutMillis} passed ({@link Drain}); completes with how many were still open then.
   * Callable from any thread.
   */
  public Future<Integer> drain(long timeoutMillis) {
    Promise<Void> ended = Promise.promise();
    context.runOnContext(v -> {
      slots.stop(timeoutMillis);
      ended.complete();
    });
    return new Drain("node " + options.getHostname(), "its sessions ended, so no new tunnel comes", "tunnel(s)")
        .run(vertx, ended.future(), metrics::activeTunnels, timeoutMillis);
  }

  /** Completes when the first session is welcomed; fails if the first login is refused. */
  public Future<Void> sessionUp() {
    return slots.firstWelcome();
  }

  /** This node's custom domains (the registry's word, through the gateway). */
  public NodeAliases aliases() {
    return aliases;
  }

  /** The public name a session that is up was welcomed as; empty while no session is up. */
  public Optional<String> fqdn() {
    List<Session> up = slots.up();
    return up.isEmpty() ? Optional.empty() : Optional.ofNullable(up.get(0).fqdn());
  }

  /** Link connections (HTTP/2) of the sessions that are up. */
  public int linkConnections() {
    return slots.up().stream().mapToInt(Session::linkCount).sum();
  }

  /** How many sessions are up right now (0, 1, or 2 with {@code sessions = 2}). */
  public int upSessions() {
    return slots.upCount();
  }

  /** The gateways of the sessions that are up. */
  public List<HostPort> upServers() {
    return new ArrayList<>(slots.up().stream().map(Session::server).toList());
  }

  /** One session as {@code funnel status} shows it. */
  public record SessionInfo(HostPort server, String gatewayId, boolean up, int links, List<Integer> ports,
                            Map<Integer, String> refused) {
  }

  /** The sessions this node keeps (one per slot that has a session or is dialling one). */
  public List<SessionInfo> sessions() {
    return slots.sessions();
  }

  /**
   * Ports this node funnels that the server said it does not route (the tailnet's policy, or no
   * public listener), with why, as the sessions that are up were told at their last Welcome.
   */
  public Map<Integer, String> refusedPorts() {
    Map<Integer, String> out = new TreeMap<>();
    for (Session s : slots.up()) {
      s.refused().forEach(out::putIfAbsent);
    }
    return out;
  }

  /**
   * Asks the gateway of a session that is up to probe this node's public path on {@code port}
   * ({@link PublicPathProbe} judges the result); fails when no session is up or no reply comes.
   */
  Future<ProbeResult> requestProbe(int port, String fingerprint) {
    return slots.throughAnyUp(s -> s.sendProbe(port, fingerprint));
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
    return slots.serveUpdate(ServeState.sortedPorts(serve.replace(newServe)));
  }

  /**
   * Replaces the gates of stream ports ({@code tcp://}, {@code tls-terminated-tcp://}): each port's
   * policy ({@code --allow-cidr}, {@code --deny-cidr}, {@code --rate-limit} as a connection rate),
   * checked on each ingress offer before anything is dialled; applies to the next offer. Rate
   * counts start over. HTTP ports' policies are the terminator's: do not pass them here.
   */
  public void updateTcpRules(Map<Integer, GatePolicy> rules) {
    serve.updateTcpRules(rules);
  }

  /** The gates of tcp:// ports now, by port (for {@code serve list}). */
  public Map<Integer, TcpGate> tcpGates() {
    return serve.gates();
  }

  /**
   * Asks the server's CA to sign a PKCS#10 request (PEM) for this node's name; completes with the
   * certificate chain (PEM). Fails when no session is up, the server refuses, or no reply comes in time.
   */
  public Future<String> signCertificate(String csrPem) {
    return slots.throughAnyUp(s -> s.sendSignRequest(csrPem));
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
    return serve.serves(port);
  }

  /**
   * Asks the server, through a session that is up, to set ({@code present}) or remove the ACME
   * dns-01 value {@code TXT digest} at {@code _acme-challenge.name} ({@code name} must be this node's
   * own name; the registry checks). Completes once the gateway confirms; fails when no session is up,
   * the gateway does not support it, refuses, or does not answer within the login timeout.
   */
  public Future<Void> setDnsChallenge(String name, String digest, boolean present) {
    return slots.throughAnyUp(s -> s.sendAcmeTxt(name, digest, present));
  }

  /**
   * The certificate the node presents (its TLS terminator's) is valid until {@code notAfter}: every
   * session that is up tells its gateway now, and every session welcomed later tells its own, so the
   * server side can count certificates about to expire ({@code funnel_gateway_node_certificates})
   * without scraping nodes. Gateways that do not offer it are not told. Any thread.
   */
  public void certificateExpiry(Instant notAfter) {
    certificateExpiry.update(notAfter).ifPresent(seconds -> slots.eachUp(s -> s.sendCertificateExpiry(seconds)));
  }

  // ---- for Session, LinkConnection and IngressStream ----

  HostPort acmeResponder() {
    return acmeResponder;
  }

  /** How long a tls-alpn-01 peek waits for a whole ClientHello ({@link HelloPeek#DEADLINE_MILLIS}). */
  long helloPeekDeadlineMillis() {
    return helloPeekDeadlineMillis;
  }

  /** For tests: a peek that must decide by what it read, not by its deadline. */
  void setHelloPeekDeadlineMillis(long millis) {
    this.helloPeekDeadlineMillis = millis;
  }

  NodeOptions options() {
    return options;
  }

  ServeState serveState() {
    return serve;
  }

  NodeKey nodeKey() {
    return nodeKey;
  }

  NodeMetrics metrics() {
    return metrics;
  }

  /** The TLS context of link connections (made at start). */
  SslContext linkTls() {
    linksOpened.incrementAndGet();
    return linkTls;
  }

  Vertx vertx() {
    return vertx;
  }

  static String reason(Throwable t) {
    String message = t.getMessage();
    return message == null || message.isEmpty() ? t.getClass().getSimpleName() : message;
  }
}
