package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.AliasStatus;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.bus.TailnetPolicy;
import dev.funnel.common.net.DataLegTls;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.ops.Drain;
import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.FrameReader;
import dev.funnel.common.tls.DevCa;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The peerapi gateway's control plane: nodes' control connections (read on the data plane by the
 * {@link NodeListener}, handled here), each session recorded with the registry and its lease kept.
 * Tunnels never pass through this verticle: a frontend in this JVM opens them through the
 * {@link TunnelOpener} it finds in {@link GatewayLinks}, one in another process through the
 * {@link FrontendLinkServer}; both offer the tunnel as an HTTP/2 stream on one of the node's link
 * connections.
 *
 * <pre>
 * control connection:  registry login → Welcome | Refused; Ping/Pong, ServeUpdate, SignRequest, AcmeTxt,
 *                      SessionLost (passed to the registry, vouching for the node), Bye
 * </pre>
 *
 * The sessions are kept by {@link GatewaySessions}, on this verticle's event loop (no locks); what
 * the data plane needs of a session is in the {@link LinkDirectory}, safe to share.
 */
public class GatewayVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(GatewayVerticle.class.getName());

  private final GatewayOptions options;
  private final DevCa signingCa;
  /** Connections that are not a login, and refused logins: anyone can dial the gateway's port. */
  private final LogLimit rejections = new LogLimit();
  /** Alias states the registry publishes, passed to the node whose session is here. */
  private MessageConsumer<Object> aliasStatus;
  private final LinkDirectory directory = new LinkDirectory();
  private final GatewayLinks localLinks;
  private GatewayMetrics metrics;
  private GatewayRefusals refusals;
  private TunnelOpener opener;
  private ProbeRelay probes;
  private CertificateReports certificates;
  private RegistryRequests registry;
  private GatewaySessions sessions;
  private dev.funnel.common.ops.StatsPublisher stats;
  private NodeListener nodeListener;
  private int nodePort = -1;
  /** Where frontends in other processes open tunnels; null when this gateway has no link port. */
  private FrontendLinkServer linkServer;
  private int linkPort = -1;

  /**
   * @param signingCa the CA that signs nodes' certificate requests for their own name; null when
   *                  this gateway does not sign (nodes then bring their own certificate)
   */
  public GatewayVerticle(GatewayOptions options, DevCa signingCa) {
    this(options, signingCa, null);
  }

  /**
   * @param localLinks where the frontend in this JVM finds this gateway (it registers itself);
   *                   null when no frontend runs in this JVM
   */
  public GatewayVerticle(GatewayOptions options, DevCa signingCa, GatewayLinks localLinks) {
    this.options = options;
    this.signingCa = signingCa;
    this.localLinks = localLinks;
  }

  /** The port nodes connect to (useful when listening on port 0). */
  public int actualPort() {
    return nodePort;
  }

  /** The link port frontends in other processes dial; -1 when there is none. */
  public int linkPort() {
    return linkPort;
  }

  @Override
  public Future<?> start() {
    String badOption = GatewayOptionsCheck.problem(options);
    if (badOption != null) {
      return Future.failedFuture(new IllegalArgumentException("gateway options: " + badOption));
    }
    metrics = GatewayMetrics.start();
    metrics.linkConnections(directory::connections);
    refusals = new GatewayRefusals(metrics.registry());
    opener = new TunnelOpener(options, directory, metrics, refusals);
    probes = new ProbeRelay(vertx);
    certificates = new CertificateReports(vertx, metrics);
    registry = new RegistryRequests(vertx, options.getRegistryTimeoutMillis());
    sessions = new GatewaySessions(vertx, options, registry,
        new NodeRequests(vertx, options.getGatewayId(), signingCa, registry), probes, certificates, directory, metrics,
        refusals);
    MessageConsumer<SessionKick> kicks = vertx.eventBus().consumer(Addresses.SESSION_KICK,
        message -> sessions.kick(message.body()));
    aliasStatus = vertx.eventBus().consumer(Addresses.ALIAS_STATUS, message -> sessions.aliases(
        message.body() instanceof AliasStatus a ? a
            : message.body() instanceof io.vertx.core.json.JsonObject json ? AliasStatus.fromJson(json) : null));
    // A tailnet's new policy, passed to its nodes here.
    MessageConsumer<Object> policies = vertx.eventBus().consumer(Addresses.TAILNET_CHANGED, message -> sessions.policyChanged(
        message.body() instanceof TailnetPolicy p ? p
            : message.body() instanceof io.vertx.core.json.JsonObject json ? TailnetPolicy.fromJson(json) : null));
    HostPort listen = options.getListen();
    boolean withLink = options.getLinkListen() != null;
    return kicks.completion().compose(v -> aliasStatus.completion()).compose(v -> policies.completion())
        .compose(v -> vertx.executeBlocking(() -> new SslContext[] {
            LinkTls.server(vertx, options.getKeyCert(), null),
            withLink ? LinkTls.server(vertx, options.getKeyCert(), options.getLinkTrust()) : null}))
        .compose(tls -> {
          nodeListener = new NodeListener(options, tls[0], directory, context, this::onControl);
          if (withLink) {
            linkServer = new FrontendLinkServer(options, tls[1], opener, metrics);
          }
          return withLink ? linkServer.bind().onSuccess(port -> linkPort = port).mapEmpty() : Future.succeededFuture();
        })
        .compose(v -> withLink ? vertx.eventBus().consumer(Addresses.gatewayLink(options.getGatewayId()),
            message -> message.reply(linkAddress())).completion() : Future.succeededFuture())
        .compose(v -> nodeListener.bind())
        .onSuccess(port -> {
          nodePort = port;
          if (localLinks != null) {
            localLinks.register(options.getGatewayId(), opener);
          }
          stats = dev.funnel.common.ops.StatsPublisher.start(vertx, this::memberStats);
          LOG.log(Level.INFO, "gateway " + options.getGatewayId() + " listening for nodes on "
              + listen.host() + ":" + port + " (TLS: " + DataLegTls.describe() + "; data plane: " + DataPlane.describe()
              + (withLink ? "; link for other processes' frontends on " + linkAddress() : "") + ")");
        })
        .onFailure(err -> metrics.stop());
  }

  /** The address frontends in other processes dial for this gateway's link. */
  private String linkAddress() {
    String host = options.getLinkAdvertiseHost() != null ? options.getLinkAdvertiseHost() : options.getLinkListen().host();
    return new HostPort(host, linkPort).toString();
  }

  /** This gateway's figures for {@code funnel admin status}, from its own meters. */
  private dev.funnel.common.bus.MemberStats memberStats() {
    MeterRegistry registry = metrics.registry();
    io.micrometer.core.instrument.Timer setup = registry.find("funnel.tunnel.setup")
        .tag("role", dev.funnel.common.ops.Meters.ROLE_GATEWAY).timer();
    return new dev.funnel.common.bus.MemberStats(options.getGatewayId(), "gateway", nodePort > 0 && !sessions.stopping(),
        List.of(),
        dev.funnel.common.ops.StatsPublisher.gauge(registry, "funnel.tunnels.active", "role",
            dev.funnel.common.ops.Meters.ROLE_GATEWAY),
        setup == null ? 0 : setup.count(),
        dev.funnel.common.ops.StatsPublisher.countsBy(registry, "funnel.gateway.opens.refused", "reason", Set.of()),
        sessions.size());
  }

  /**
   * The first step of a clean stop, before {@link #stop()}: stops taking logins (the node listener
   * closes), ends every session with a Bye that lets its tunnels go on (the registry hears of it, so
   * new tunnels go to the node's session elsewhere; the node logs in to another gateway and leaves
   * these link connections open, each closed here once its last tunnel ends), then waits until the
   * tunnels have ended or {@link GatewayOptions#getDrainTimeoutSeconds()} passed ({@link Drain});
   * completes with how many were still open then. Callable from any thread.
   */
  public Future<Integer> drain() {
    return drain(options.getDrainTimeoutSeconds() * 1000);
  }

  /** As {@link #drain()}, with {@code millis} for the tunnels to end ({@code funnel server}: what its frontend's drain left). */
  public Future<Integer> drain(long millis) {
    Promise<List<NodeLinks>> handedOff = Promise.promise();
    Promise<Void> told = Promise.promise();
    context.runOnContext(v -> {
      GatewaySessions.Ending ending = sessions.endAll(new Bye("gateway stopping", millis),
          "gateway stopping (its tunnels may go on for " + Drain.seconds(millis) + " s)");
      ending.registryTold().onComplete(done -> told.complete());
      Future<Void> listener = nodeListener == null ? Future.succeededFuture() : nodeListener.close();
      listener.onComplete(done -> handedOff.complete(ending.links()));
    });
    // The drain also waits for the registry's answers (each bounded by the registry timeout, and
    // running meanwhile): in one JVM (funnel server) Vert.x stops the registry right after.
    return handedOff.future().compose(links -> new Drain("gateway " + options.getGatewayId(),
        "its nodes were told to log in to another gateway", "tunnel(s)")
        .run(vertx, Future.succeededFuture(), () -> links.stream().mapToInt(l -> l.tunnels.get()).sum(), millis))
        .compose(open -> told.future().map(open));
  }

  @Override
  public Future<?> stop() {
    if (stats != null) {
      stats.stop();
    }
    List<Future<?>> closing = new ArrayList<>();
    if (sessions != null) {
      closing.add(sessions.endAll(new Bye("gateway stopping"), "gateway stopping").registryTold());
    }
    if (metrics != null) {
      metrics.stop();
    }
    if (localLinks != null && opener != null) {
      localLinks.unregister(options.getGatewayId(), opener);
    }
    if (nodeListener != null) {
      closing.add(nodeListener.close());
    }
    if (linkServer != null) {
      closing.add(linkServer.close());
    }
    return Future.join(closing);
  }

  // ---------------------------------------------------------------- a new connection

  /** A connection whose first frame was a Hello (the {@link NodeListener} read it). */
  private void onControl(NodeListener.NewControl control) {
    if (sessions.stopping()) {
      control.channel().close();
      return;
    }
    control.channel().closeHandler(() -> { });
    login(control.channel(), control.reader(), control.rest(), control.hello(), control.nonce());
  }

  private void reject(ControlChannel socket, String reason) {
    rejections.log(LOG, Level.INFO, "rejections", () -> "connection from " + socket.remoteAddress() + " " + reason
        + "; rejecting");
    socket.close();
  }

  // ---------------------------------------------------------------- control connections

  private void login(ControlChannel socket, FrameReader reader, List<ControlMessage> early, Hello hello, String nonce) {
    if (hello.version() != ControlMessage.VERSION) {
      refuseLogin(socket, hello, "PROTOCOL", "this gateway speaks protocol version " + ControlMessage.VERSION
          + ", the node " + hello.version() + ": upgrade the node (funnel node) to the server's release");
      return;
    }
    boolean[] closedMeanwhile = {false};
    socket.closeHandler(() -> closedMeanwhile[0] = true);
    NodeLogin login = new NodeLogin(hello.authKey(), hello.hostname(), hello.ports(), options.getGatewayId(),
        hello.nodePublicKey(), nonce, hello.proof(), hello.aliases());
    registry.<NodeSession>ask(Addresses.REGISTRY_LOGIN, login)
        .onSuccess(granted -> {
          if (closedMeanwhile[0] || sessions.stopping()) {
            LOG.log(Level.INFO, "node " + granted.nodeId() + " left before its session began");
            socket.close();
            registry.sessionClosed(new SessionClosed(granted.nodeId(), options.getGatewayId(), granted.epoch()),
                sessions.stopping());
            return;
          }
          Session admitted = sessions.admit(socket, reader, early, granted);
          if (hello.aliases() != null && !admitted.ended) {
            admitted.aliasAware = true;
            registry.<AliasStatus>ask(Addresses.REGISTRY_NODE_ALIASES, granted.nodeId())
                .onSuccess(sessions::aliases)
                .onFailure(err -> LOG.log(Level.WARNING, "aliases of " + granted.nodeId() + " not fetched: " + err));
          }
        })
        .onFailure(err -> {
          Integer code = FailureCode.of(err).orElse(-1);
          String failure = LoginFailure.fromCode(code).map(Enum::name).orElse("UNAVAILABLE");
          String message = failure.equals("UNAVAILABLE") ? "the registry is unavailable" : err.getMessage();
          refuseLogin(socket, hello, failure, message);
        });
  }

  private void refuseLogin(ControlChannel socket, Hello hello, String code, String message) {
    refusals.loginRefused(code);
    rejections.log(LOG, Level.INFO, "rejections", () -> "login of " + hello.hostname() + " from "
        + socket.remoteAddress() + " refused: " + code + " (" + message + "); rejecting");
    socket.write(new Refused(code, message).encode()).onComplete(written -> socket.close());
  }

  // ---------------------------------------------------------------- for tests

  MeterRegistry meterRegistry() {
    return metrics.registry();
  }

  /** Link connections of {@code nodeId}'s session (0 without one). */
  public int linkConnections(String nodeId) {
    return directory.byNode(nodeId).map(NodeLinks::size).orElse(0);
  }

  /** The data-plane loop index of each link connection of {@code nodeId} (tests). */
  List<Integer> linkLoops(String nodeId) {
    return directory.byNode(nodeId).map(links -> links.connections().stream()
        .map(c -> DataPlane.loopIndex(c.eventLoop())).toList()).orElse(List.of());
  }

  /** The opener the frontend in this JVM uses (tests). */
  TunnelOpener opener() {
    return opener;
  }
}
