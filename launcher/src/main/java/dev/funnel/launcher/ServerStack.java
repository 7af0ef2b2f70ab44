package dev.funnel.launcher;

import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.common.tls.DevCa;
import dev.funnel.frontend.FrontendVerticle;
import dev.funnel.gateway.GatewayVerticle;
import dev.funnel.registry.AdminApiVerticle;
import dev.funnel.registry.RegistryService;
import dev.funnel.registry.RegistryVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Every server-side verticle in one JVM on the local event bus: registry (with the admin API),
 * gateway, frontend, and the ops endpoint. Blocking: call from main, not from an event loop.
 */
final class ServerStack {

  /** What {@code funnel server} (and the demo) are told on the command line. */
  record Settings(Path state, String domain, Map<Integer, HostPort> publicListeners, HostPort gatewayListen,
                  HostPort adminListen, HostPort metricsListen, boolean accessLog, long clientHelloTimeoutMillis,
                  LimitFlags limits, java.util.function.UnaryOperator<RegistryOptions> registry) {

    /** Without console sign-in options beyond the token. */
    Settings(Path state, String domain, Map<Integer, HostPort> publicListeners, HostPort gatewayListen,
             HostPort adminListen, HostPort metricsListen, boolean accessLog, long clientHelloTimeoutMillis,
             LimitFlags limits) {
      this(state, domain, publicListeners, gatewayListen, adminListen, metricsListen, accessLog,
          clientHelloTimeoutMillis, limits, o -> o);
    }

    /** With the default limits. */
    Settings(Path state, String domain, Map<Integer, HostPort> publicListeners, HostPort gatewayListen,
             HostPort adminListen, HostPort metricsListen, boolean accessLog, long clientHelloTimeoutMillis) {
      this(state, domain, publicListeners, gatewayListen, adminListen, metricsListen, accessLog,
          clientHelloTimeoutMillis, new LimitFlags());
    }
  }

  private final Settings settings;
  private final DevCa ca;
  private final RegistryService registry;
  private final AdminApiVerticle admin;
  private final GatewayVerticle gateway;
  private final FrontendVerticle frontend;
  private final OpsVerticle ops;
  /** When the frontend's drain time is up (ms, monotonic); MIN_VALUE until a stop began it. */
  private final AtomicLong drainEnds;

  private ServerStack(Settings settings, DevCa ca, RegistryService registry, AdminApiVerticle admin,
                      GatewayVerticle gateway, FrontendVerticle frontend, OpsVerticle ops, AtomicLong drainEnds) {
    this.drainEnds = drainEnds;
    this.settings = settings;
    this.ca = ca;
    this.registry = registry;
    this.admin = admin;
    this.gateway = gateway;
    this.frontend = frontend;
    this.ops = ops;
  }

  static ServerStack start(Vertx vertx, Settings settings) {
    // The ops endpoint first: /metrics covers the start, /ready answers 503 until every listener is
    // bound (and the store answers), /health turns 503 whenever the store stops answering.
    AtomicBoolean listening = new AtomicBoolean();
    AtomicReference<RegistryService> opened = new AtomicReference<>();
    OpsVerticle ops = null;
    if (settings.metricsListen() != null) {
      ops = new OpsVerticle(settings.metricsListen())
          .health("store", () -> pingStore(opened.get(), true))
          .readyProbe("store", () -> pingStore(opened.get(), false))
          .ready("listeners", listening::get);
      vertx.deployVerticle(ops).await();
    }

    DevCa ca = DevCa.loadOrCreate(settings.state());
    DevCa.KeyAndChain gatewayCert = ca.issue(gatewayNames(settings.gatewayListen()), Duration.ofDays(365));

    RegistryOptions registryOptions = settings.registry().apply(new RegistryOptions()
        .setDomain(settings.domain())
        .setStateDir(settings.state())
        .setAdminListen(settings.adminListen()));
    settings.limits().aliases.applyTo(registryOptions);
    RegistryService registry = RegistryService.open(vertx, registryOptions).await();
    opened.set(registry);
    vertx.deployVerticle(new RegistryVerticle(registryOptions, registry)).await();
    AdminApiVerticle admin = new AdminApiVerticle(registryOptions, registry);
    vertx.deployVerticle(admin).await();

    // The frontend in this JVM opens tunnels through the gateway in this JVM directly: no socket.
    GatewayLinks links = new GatewayLinks();
    GatewayVerticle gateway = new GatewayVerticle(settings.limits().applyTo(new GatewayOptions()
        .setGatewayId("gateway-1")
        .setDrainTimeoutSeconds(settings.limits().frontend.drainTimeoutSeconds)
        .setListen(settings.gatewayListen())
        .setKeyCert(new PemKeyCertOptions()
            .setKeyValue(Buffer.buffer(gatewayCert.keyPem()))
            .setCertValue(Buffer.buffer(gatewayCert.chainPem())))), ca, links);
    vertx.deployVerticle(gateway).await();

    FrontendOptions frontendOptions = settings.limits().applyTo(new FrontendOptions()
        .setFrontendId("frontend-1")
        .setDomain(settings.domain())
        .setPublicListeners(settings.publicListeners())
        .setAccessLog(settings.accessLog())
        .setHelloTimeoutMillis(settings.clientHelloTimeoutMillis()));
    FrontendVerticle frontend = new FrontendVerticle(frontendOptions, links);
    vertx.deployVerticle(frontend).await();
    // A stop drains the public connections first, while the gateway and registry still serve them.
    long drainMillis = frontendOptions.getDrainTimeoutSeconds() * 1000;
    AtomicLong drainEnds = new AtomicLong(Long.MIN_VALUE);
    Processes.drainOnStop("the frontend's drain", frontendOptions.getDrainTimeoutSeconds(), () -> listening.set(false),
        () -> {
          drainEnds.set(System.nanoTime() / 1_000_000 + drainMillis);
          return frontend.drain();
        });

    listening.set(true);
    return new ServerStack(settings, ca, registry, admin, gateway, frontend, ops, drainEnds);
  }

  /**
   * The gateway's part of a stop, after the frontend's drain and before Vert.x closes (which stops
   * every verticle at once): its sessions end with a Bye while the registry still hears of it, so
   * no route is left to lapse with its lease, and tunnels that came through other frontends get the
   * same drain time ({@code GatewayVerticle.drain}). Completes with how many were still open.
   * Its tunnels get only what is left of the frontend's drain time: every tunnel of this gateway
   * came through the frontend in this JVM (it has no link port for others), which closed its public
   * connections when that time was up, so the stop as a whole takes the drain time, not twice it.
   */
  Future<Integer> drainGateway() {
    long ends = drainEnds.get();
    return ends == Long.MIN_VALUE ? gateway.drain()
        : gateway.drain(Math.max(0, ends - System.nanoTime() / 1_000_000));
  }

  /**
   * The store answers; before it is opened the process is starting: alive ({@code whileStarting}
   * true for /health) but not ready.
   */
  private static Future<Boolean> pingStore(RegistryService registry, boolean whileStarting) {
    return registry == null ? Future.succeededFuture(whileStarting) : registry.ping().map(true);
  }

  /** The gateway's certificate names: its listen host plus loopback, so local nodes verify it. */
  private static List<String> gatewayNames(HostPort listen) {
    LinkedHashSet<String> names = new LinkedHashSet<>();
    if (!listen.host().equals("0.0.0.0") && !listen.host().equals("::")) {
      names.add(listen.host());
    }
    names.add("localhost");
    names.add("127.0.0.1");
    return new ArrayList<>(names);
  }

  DevCa ca() {
    return ca;
  }

  RegistryService registry() {
    return registry;
  }

  int gatewayPort() {
    return gateway.actualPort();
  }

  HostPort gatewayAddress() {
    return new HostPort(settings.gatewayListen().host(), gateway.actualPort());
  }

  int adminPort() {
    return admin.actualPort();
  }

  /** Public port → the local port it is bound to. */
  Map<Integer, Integer> publicPorts() {
    return frontend.actualPorts();
  }

  int metricsPort() {
    return ops == null ? -1 : ops.actualPort();
  }

  /** One line for the operator, containing {@code ready}. */
  String readyLine() {
    StringBuilder line = new StringBuilder("funnel server ready: domain ").append(settings.domain());
    frontend.actualPorts().forEach((pub, local) -> line.append(", public ").append(pub).append(" on ")
        .append(settings.publicListeners().get(pub).host()).append(':').append(local));
    line.append(", gateway ").append(settings.gatewayListen().host()).append(':').append(gateway.actualPort());
    line.append(", admin http://").append(settings.adminListen().host()).append(':').append(admin.actualPort());
    if (ops != null) {
      line.append(", metrics http://").append(settings.metricsListen().host()).append(':').append(ops.actualPort())
          .append("/metrics");
    }
    line.append(", state ").append(settings.state());
    return line.toString();
  }
}
