package dev.funnel.frontend;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LocalFrontends;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.micrometer.backends.BackendRegistries;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The SNI frontend: one TCP listener per public port. Each connection's ClientHello is read (never
 * terminated), its name routed through the registry, a stream to the node opened through the
 * gateway holding the node's session, and the two spliced, hello bytes first. Refusals get a TLS
 * alert: {@code unrecognized_name} for names nobody serves, {@code handshake_failure} for broken
 * hellos and policy refusals, {@code internal_error} when our side failed.
 *
 * <p>Route lookups are cached per verticle for {@link FrontendOptions#getRouteCacheMillis()} and
 * dropped early by the registry's {@link Addresses#ROUTES_CHANGED} events.
 */
public class FrontendVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(FrontendVerticle.class.getName());

  private final FrontendOptions options;
  private final Map<Integer, Integer> actualPorts = new ConcurrentHashMap<>();
  private RouteCache routes;
  private RelayClient relay;
  private GoneGateways gone;
  private FrontendMetrics metrics;
  private Admission admission;

  public FrontendVerticle(FrontendOptions options) {
    this.options = options;
  }

  /** Public port → the local port actually bound (differs from the option when it asked for 0). */
  public Map<Integer, Integer> actualPorts() {
    return Map.copyOf(actualPorts);
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
    relay = new RelayClient(vertx, options.getFrontendId(), options.getRelayTimeoutMillis());
    LocalFrontends.register(options.getFrontendId());
    gone = new GoneGateways(() -> System.nanoTime() / 1_000_000);
    FrontendConnection.Shared shared = new FrontendConnection.Shared(vertx, options, domain, routes, metrics, relay,
        gone, new TailnetShaper(options.getTailnetBytesPerSecond(), metrics.registry(), System::nanoTime));

    List<Future<?>> ready = new ArrayList<>();
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
    for (Map.Entry<Integer, HostPort> listener : options.getPublicListeners().entrySet()) {
      int publicPort = listener.getKey();
      HostPort bind = listener.getValue();
      NetServer server = vertx.createNetServer(new NetServerOptions()
          .setHost(bind.host())
          .setPort(bind.port())
          .setTcpNoDelay(true)
          .setTcpKeepAlive(true)
          .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, options.getIdleTimeoutSeconds()))
          .setIdleTimeoutUnit(TimeUnit.SECONDS));
      server.connectHandler(socket -> {
        if (admission.admit(socket, publicPort)) {
          new FrontendConnection(shared, socket, publicPort).start();
        }
      });
      ready.add(server.listen().onSuccess(bound -> {
        actualPorts.put(publicPort, bound.actualPort());
        LOG.log(INFO, "frontend {0}: public port {1} listening on {2}", options.getFrontendId(), publicPort,
            new HostPort(bind.host(), bound.actualPort()));
      }));
    }
    return Future.all(ready);
  }

  @Override
  public Future<?> stop() {
    LocalFrontends.unregister(options.getFrontendId());
    return relay == null ? Future.succeededFuture() : relay.close();
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
