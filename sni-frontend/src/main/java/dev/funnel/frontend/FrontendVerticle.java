package dev.funnel.frontend;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.ops.Drain;
import dev.funnel.common.options.FrontendOptions;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.micrometer.backends.BackendRegistries;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The SNI frontend: one Netty listener per public port, on the data plane's loops
 * ({@link DataPlane}). Each connection's ClientHello is read (never terminated), its name routed
 * through the registry (the event bus), a stream to the node opened through the gateway holding
 * the node's session ({@link GatewayLinks#local} when it runs in this JVM, else
 * {@link RemoteGatewayLinks}), and the two spliced, hello bytes first. Refusals get a TLS
 * alert: {@code unrecognized_name} for names nobody serves, {@code handshake_failure} for broken
 * hellos and policy refusals, {@code internal_error} when our side failed.
 *
 * <p>Route lookups are cached per verticle for {@link FrontendOptions#getRouteCacheMillis()} and
 * dropped early by the registry's {@link Addresses#ROUTES_CHANGED} events.
 */
public class FrontendVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(FrontendVerticle.class.getName());

  private final FrontendOptions options;
  private final GatewayLinks gatewayLinks;
  private final Map<Integer, Integer> actualPorts = new ConcurrentHashMap<>();
  private final List<Channel> listeners = new CopyOnWriteArrayList<>();
  /** Every admitted public connection, and the tunnels not ended yet: what a drain closes. */
  private final OpenConnections open = new OpenConnections();
  private RouteCache routes;
  /** Custom domains routed now (the registry's verified set). */
  private final AliasTable aliases = new AliasTable();
  /** Set once in start(), before any listener is bound; read on the data-plane loops. */
  private volatile RemoteGatewayLinks remote;
  private GoneGateways gone;
  private FrontendMetrics metrics;
  private Admission admission;
  private Prober prober;
  private dev.funnel.common.ops.StatsPublisher stats;

  /** A frontend with no gateway in its JVM: every gateway is reached over the network. */
  public FrontendVerticle(FrontendOptions options) {
    this(options, new GatewayLinks());
  }

  /** A frontend that opens through {@code gatewayLinks}' gateways directly when they run in this JVM. */
  public FrontendVerticle(FrontendOptions options, GatewayLinks gatewayLinks) {
    this.options = options;
    this.gatewayLinks = gatewayLinks;
  }

  /** Public port → the local port actually bound (differs from the option when it asked for 0), by public port. */
  public Map<Integer, Integer> actualPorts() {
    return java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(actualPorts));
  }

  /** How many routes this frontend has cached now (tests). */
  int routesCached() {
    return routes.size();
  }

  /** How many custom domains this frontend routes now (tests). */
  int aliasesKnown() {
    return aliases.size();
  }

  /** The registry the meters are on (the Vert.x default one, or a private one when metrics are off). */
  io.micrometer.core.instrument.MeterRegistry meterRegistry() {
    return metrics.registry();
  }

  @Override
  public Future<?> start() {
    String domain = ServerNames.canonicalDomain(options.getDomain());
    metrics = FrontendMetrics.create(BackendRegistries.getDefaultNow());
    metrics.registerUpFront(options.getPublicListeners().keySet());
    admission = new Admission(options, metrics);
    routes = new RouteCache(RouteCache.DEFAULT_MAX_ENTRIES, options.getRouteCacheMillis(),
        () -> System.nanoTime() / 1_000_000);
    gone = new GoneGateways(() -> System.nanoTime() / 1_000_000);
    return linkTls().compose(tls -> {
      remote = tls == null ? null : new RemoteGatewayLinks(vertx, options, tls);
      FrontendConnection.Shared shared = new FrontendConnection.Shared(vertx, options, domain, routes, metrics,
          gone, new TailnetShaper(options.getTailnetBytesPerSecond(), metrics.registry(), System::nanoTime),
          this::link, aliases, open.spliced());
      List<Future<?>> ready = new ArrayList<>(consumers());
      for (Map.Entry<Integer, HostPort> listener : options.getPublicListeners().entrySet()) {
        ready.add(listen(listener.getKey(), listener.getValue(), shared));
      }
      return Future.all(ready);
    }).compose(v -> {
      prober = new Prober(vertx, options.getFrontendId(), domain, options.getPublicListeners(), this::actualPorts,
          Prober.DEFAULT_TIMEOUT_MILLIS);
      return vertx.eventBus().consumer(Addresses.FRONTEND_PROBE, prober::handle).completion();
    }).onSuccess(v -> stats = dev.funnel.common.ops.StatsPublisher.start(vertx, this::memberStats))
        .onFailure(err -> stop());   // a port that could not be bound: let go of the others (stop() is not called then)
  }

  /** The client TLS context for links to gateways in other processes; null when none is configured (in-JVM only). */
  private Future<SslContext> linkTls() {
    if (options.getLinkTrust() == null) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> LinkTls.client(vertx, options.getLinkTrust(), options.getLinkKeyCert()));
  }

  /** Gateway {@code gatewayId}: the one in this JVM, else over a link connection, else one that always fails uncoded. */
  private GatewayLink link(String gatewayId) {
    return gatewayLinks.local(gatewayId).orElseGet(() -> remote != null ? remote.link(gatewayId)
        : (request, first, loop) -> loop.newFailedFuture(new IllegalStateException("gateway " + gatewayId
            + " is not in this process and no link TLS is configured")));
  }

  private List<Future<?>> consumers() {
    List<Future<?>> ready = new ArrayList<>();
    ready.add(aliases.listen(vertx, options.getResolveTimeoutMillis(), options.getFrontendId()));
    MessageConsumer<Object> changes = vertx.eventBus().consumer(Addresses.ROUTES_CHANGED, this::onRouteChanged);
    ready.add(changes.completion());
    MessageConsumer<Object> left = vertx.eventBus().consumer(Addresses.GATEWAY_LEFT, message -> {
      if (message.body() instanceof String gatewayId) {
        LOG.log(INFO, "frontend {0}: gateway {1} left the cluster; opens waiting on it fail over now",
            options.getFrontendId(), gatewayId);
        gone.left(gatewayId);
      }
    });
    ready.add(left.completion());
    MessageConsumer<Object> withdrawn = vertx.eventBus().consumer(Addresses.SESSION_WITHDRAWN, this::onSessionWithdrawn);
    ready.add(withdrawn.completion());
    MessageConsumer<Object> registryLeft = vertx.eventBus().consumer(Addresses.REGISTRY_LEFT, message -> {
      LOG.log(INFO, "frontend {0}: a registry left the cluster; resolves waiting on it are asked again",
          options.getFrontendId());
      gone.registryLeft();
    });
    ready.add(registryLeft.completion());
    return ready;
  }

  /**
   * One public port: a listener on every data-plane loop's share of accepts, each connection
   * admitted (or closed at once), idle-bounded, and read by its {@link FrontendConnection}.
   */
  private Future<?> listen(int publicPort, HostPort bind, FrontendConnection.Shared shared) {
    long idleSeconds = options.getIdleTimeoutSeconds();
    Promise<Void> bound = Promise.promise();
    ServerBootstrap listener = new ServerBootstrap();
    admission.tuneListener(listener);
    listener
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        // TCP_NODELAY: Netty's socket config turns it on as it makes each channel (a second
        // childOption would be a second setsockopt per connection). Keepalive timing: Admission.
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childOption(ChannelOption.AUTO_READ, false)
        .handler(new ChannelInboundHandlerAdapter() {
          /** On the listener's loop, in accept order, before the child is registered anywhere. */
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object accepted) {
            if (accepted instanceof Channel child) {
              if (!admission.admit(child, publicPort)) {
                return;
              }
              open.admitted(child);
            }
            ctx.fireChannelRead(accepted);
          }
        })
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            if (idleSeconds > 0) {
              ch.pipeline().addLast(new IdleTimeout(idleSeconds));
            }
            ch.pipeline().addLast(new FrontendConnection(shared, publicPort));
          }
        })
        .bind(bind.host(), bind.port())
        .addListener((ChannelFuture f) -> {
          if (!f.isSuccess()) {
            bound.tryFail(f.cause());
            return;
          }
          listeners.add(f.channel());
          int port = ((InetSocketAddress) f.channel().localAddress()).getPort();
          actualPorts.put(publicPort, port);
          LOG.log(INFO, "frontend {0}: public port {1} listening on {2} ({3})", options.getFrontendId(), publicPort,
              new HostPort(bind.host(), port), DataPlane.describe());
          bound.tryComplete();
        });
    return bound.future();
  }

  /** This frontend's figures for {@code funnel admin status}, from its own meters. */
  private dev.funnel.common.bus.MemberStats memberStats() {
    io.micrometer.core.instrument.MeterRegistry registry = metrics.registry();
    Map<String, Long> outcomes = dev.funnel.common.ops.StatsPublisher.countsBy(registry, "funnel.frontend.connections",
        "outcome", java.util.Set.of());
    Map<String, Long> refusals = new java.util.TreeMap<>(outcomes);
    long routed = refusals.getOrDefault(FrontendMetrics.Outcome.ROUTED.tag(), 0L);
    refusals.remove(FrontendMetrics.Outcome.ROUTED.tag());
    refusals.remove(FrontendMetrics.Outcome.CLIENT_CLOSED.tag());
    return new dev.funnel.common.bus.MemberStats(options.getFrontendId(), "frontend", !listeners.isEmpty(),
        new ArrayList<>(new java.util.TreeSet<>(actualPorts.keySet())),
        dev.funnel.common.ops.StatsPublisher.gauge(registry, "funnel.tunnels.active", "role", FrontendMetrics.ROLE),
        routed, refusals, 0);
  }

  @Override
  public Future<?> stop() {
    aliases.close();
    if (stats != null) {
      stats.stop();
    }
    if (prober != null) {
      prober.close();
    }
    Future<?> closed = closeListeners();
    if (remote != null) {
      remote.close();
    }
    return closed;
  }

  /**
   * The first step of a clean stop, before {@link #stop()}: stops accepting, then gives the public
   * connections open now up to {@link FrontendOptions#getDrainTimeoutSeconds()} to end
   * ({@link Drain}); completes with how many were still open then.
   */
  public Future<Integer> drain() {
    return new Drain("frontend " + options.getFrontendId(), "new connections are refused", "connection(s)")
        .run(vertx, closeListeners(), admission.limiter()::openConnections, options.getDrainTimeoutSeconds() * 1000)
        .compose(left -> left == 0 ? Future.succeededFuture(0) : open.closeAll(vertx).map(left));
  }

  /** Closes every public listener (connections already accepted stay open); again is a no-op. */
  private Future<?> closeListeners() {
    List<Future<?>> closed = new ArrayList<>();
    for (Channel listener : listeners) {
      listeners.remove(listener);
      Promise<Void> done = Promise.promise();
      listener.close().addListener(f -> done.tryComplete());
      closed.add(done.future());
    }
    return Future.all(closed);
  }

  /**
   * The registry withdrew one node session (the node reported it lost, it closed, lapsed…): no
   * cached route names it any more, and opens waiting on it fail over now instead of at their timeout.
   */
  private void onSessionWithdrawn(Message<Object> message) {
    Object body = message.body();
    SessionWithdrawn withdrawn = body instanceof SessionWithdrawn w ? w
        : body instanceof JsonObject json ? SessionWithdrawn.fromJson(json) : null;
    if (withdrawn == null || withdrawn.gatewayId() == null || withdrawn.nodeId() == null) {
      return;
    }
    if (withdrawn.fqdn() != null) {
      routes.invalidate(withdrawn.fqdn());
    }
    gone.withdrawn(withdrawn.gatewayId(), withdrawn.nodeId(), withdrawn.epoch());
    LOG.log(DEBUG, "session of {0} on {1} (epoch {2}) withdrawn", withdrawn.fqdn(), withdrawn.gatewayId(),
        withdrawn.epoch());
  }

  private void onRouteChanged(Message<Object> message) {
    Object body = message.body();
    RouteChanged change = body instanceof RouteChanged rc ? rc
        : body instanceof JsonObject json ? RouteChanged.fromJson(json) : RouteChanged.ALL;
    routes.invalidate(change.host());
    LOG.log(DEBUG, "routes changed for {0}; cache now {1} entries",
        change.host() == null ? "every host" : change.host(), routes.size());
  }
}
