package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.PublicPorts;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.Meters;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The admin REST API (Vert.x Web) on {@code options.getAdminListen()}: tailnets, auth keys and
 * nodes under {@code /v1}, each call authorised by the bearer token in {@code <stateDir>/admin-token};
 * {@code /v1/openapi.yaml}, {@code /health} and {@code /ready} need no token. Errors are
 * {@code {"error":{"code":…,"message":…}}} and never carry a stack trace. Routes and fields are
 * described in {@code openapi.yaml}.
 */
public final class AdminApiVerticle extends VerticleBase {

  private static final Logger LOG = System.getLogger(AdminApiVerticle.class.getName());

  /** Largest request body accepted (413 beyond). */
  public static final int MAX_BODY_BYTES = 64 * 1024;
  /** How long the health check waits for the store's trivial query. */
  public static final long HEALTH_TIMEOUT_MILLIS = 2_000;
  /** An idle admin connection is closed after this. */
  public static final int IDLE_TIMEOUT_SECONDS = 60;
  /** Tailnet ports when a create call names none. */
  public static final Set<Integer> DEFAULT_PORTS = Set.of(443);

  private final RegistryOptions options;
  private final RegistryService service;
  private AdminAuthGuard authGuard;
  private ConsoleFigures figures;
  private ConsoleRoutes console;
  private long figuresTimer = -1;
  private int consoleMaxSessions = ConsoleSignIn.MAX_SESSIONS;
  private HttpServer server;
  private String token;
  private Buffer openapi;

  public AdminApiVerticle(RegistryOptions options, RegistryService service) {
    this.options = options;
    this.service = service;
  }

  /** The bound port (useful when listening on port 0). */
  public int actualPort() {
    return server.actualPort();
  }

  /** Console sessions held at most (tests; before deployment). */
  AdminApiVerticle consoleMaxSessions(int max) {
    this.consoleMaxSessions = max;
    return this;
  }

  /** The meters of the token guard (tests). */
  io.micrometer.core.instrument.MeterRegistry meterRegistry() {
    return authGuard.registry();
  }

  @Override
  public Future<?> start() {
    authGuard = AdminAuthGuard.create(options);
    figures = new ConsoleFigures(Meters.registry(), System::nanoTime);
    console = new ConsoleRoutes(vertx, service, authGuard, () -> token, figures, consoleMaxSessions, options);
    return vertx.executeBlocking(() -> {
      token = AdminFiles.loadOrCreateToken(options.getStateDir());
      openapi = readOpenApi();
      console.warmUp();
      return null;
    }).compose(v -> {
      HostPort listen = options.getAdminListen();
      server = vertx.createHttpServer(new HttpServerOptions().setHost(listen.host()).setPort(listen.port())
          .setIdleTimeout(IDLE_TIMEOUT_SECONDS));
      return server.requestHandler(router()).listen();
    }).compose(s -> {
      String url = url(options.getAdminListen().host(), s.actualPort());
      return vertx.executeBlocking(() -> {
        AdminFiles.writeUrl(options.getStateDir(), url);
        return url;
      });
    }).onSuccess(url -> {
      console.start();
      figures.record();
      figuresTimer = vertx.setPeriodic(ConsoleFigures.SAMPLE_MILLIS, id -> figures.record());
      LOG.log(Level.INFO, "admin API on {0} (console {0}/ui/)", url);
    });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(figuresTimer);
    if (console != null) {
      console.close();
    }
    return server == null ? Future.succeededFuture() : server.close();
  }

  private Router router() {
    Router router = Router.router(vertx);
    HealthCheckHandler health = HealthCheckHandler.create(vertx)
        .register("store", HEALTH_TIMEOUT_MILLIS, promise -> service.ping().onComplete(ar -> promise.complete(
            ar.succeeded() ? Status.OK() : Status.KO(new JsonObject().put("reason", "the store does not answer")))));
    router.get("/health").handler(health);
    router.get("/ready").handler(health);
    router.get("/v1/openapi.yaml").handler(ctx -> ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml; charset=utf-8").end(openapi));

    router.get("/").handler(ctx -> ctx.redirect("/ui/"));
    router.route("/ui/*").subRouter(console.router());

    router.route("/v1/*").handler(this::authenticate);
    router.route("/v1/*").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES));

    router.post("/v1/tailnets").handler(this::createTailnet);
    router.get("/v1/tailnets").handler(ctx -> send(ctx, 200, new JsonObject().put("tailnets",
        new JsonArray(service.tailnets().stream().map(AdminApiVerticle::tailnetJson).toList()))));
    router.get("/v1/tailnets/:name").handler(ctx -> respond(ctx, 200,
        service.tailnet(label(ctx.pathParam("name"), "tailnet name")), AdminApiVerticle::tailnetJson));
    router.patch("/v1/tailnets/:name").handler(this::updateTailnet);
    router.delete("/v1/tailnets/:name").handler(ctx -> respond(ctx, 204,
        service.deleteTailnet(label(ctx.pathParam("name"), "tailnet name")), v -> null));

    router.post("/v1/keys").handler(this::createKey);
    router.get("/v1/keys").handler(ctx -> respond(ctx, 200, service.keys(), keys -> new JsonObject()
        .put("keys", new JsonArray(keys.stream().map(AdminApiVerticle::keyJson).toList()))));
    router.delete("/v1/keys/:id").handler(ctx -> respond(ctx, 204, service.revokeKey(ctx.pathParam("id")), k -> null));

    router.get("/v1/nodes").handler(ctx -> send(ctx, 200, new JsonObject().put("nodes",
        new JsonArray(service.nodes().stream().map(AdminApiVerticle::nodeJson).toList()))));
    router.delete("/v1/nodes/:node").handler(this::deleteNode);

    AdminAliasRoutes.mount(router, service);

    router.get("/v1/status").handler(ctx -> send(ctx, 200, StatusView.json(
        service.clusterStats().summary(System.currentTimeMillis()), service.nodes(), service.domain())));

    router.route().failureHandler(this::onFailure);
    router.errorHandler(404, ctx -> error(ctx, 404, "NOT_FOUND", "no route " + ctx.request().method() + " "
        + ctx.normalizedPath()));
    router.errorHandler(405, ctx -> error(ctx, 405, "BAD_REQUEST", "method " + ctx.request().method()
        + " is not allowed on " + ctx.normalizedPath()));
    return router;
  }

  // ---------------------------------------------------------------- auth

  private void authenticate(RoutingContext ctx) {
    if (authGuard.refuseBlocked(ctx)) {
      return;
    }
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
        ? header.substring(7).trim() : null;
    if (!Secrets.constantTimeEquals(presented, token)) {
      LOG.log(Level.INFO, "admin API {0} {1} from {2}: {3}; rejecting", ctx.request().method(), ctx.normalizedPath(),
          ctx.request().remoteAddress(), header == null ? "no bearer token" : "wrong bearer token");
      authGuard.failed(ctx, presented == null);
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"funnel-admin\"");
      error(ctx, 401, "UNAUTHORIZED", "a valid 'Authorization: Bearer <token>' header is required (the token is in "
          + AdminFiles.TOKEN_FILE + " in the server's state directory)");
      return;
    }
    ctx.next();
  }

  // ---------------------------------------------------------------- handlers

  private void createTailnet(RoutingContext ctx) {
    JsonObject body = object(ctx, Set.of("name", "funnel", "ports"));
    String name = label(string(body, "name", true), "tailnet name");
    Boolean funnel = bool(body, "funnel");
    Set<Integer> ports = ports(body, "ports");
    respond(ctx, 201, service.createTailnet(name, funnel != null && funnel, ports == null ? DEFAULT_PORTS : ports),
        AdminApiVerticle::tailnetJson);
  }

  private void updateTailnet(RoutingContext ctx) {
    String name = label(ctx.pathParam("name"), "tailnet name");
    JsonObject body = object(ctx, Set.of("funnel", "ports"));
    respond(ctx, 200, service.updateTailnet(name, bool(body, "funnel"), ports(body, "ports")),
        AdminApiVerticle::tailnetJson);
  }

  private void createKey(RoutingContext ctx) {
    JsonObject body = object(ctx, Set.of("tailnet", "reusable", "expirySeconds"));
    String tailnet = label(string(body, "tailnet", true), "tailnet name");
    Boolean reusable = bool(body, "reusable");
    Long expirySeconds = integer(body, "expirySeconds");
    if (expirySeconds != null && (expirySeconds <= 0 || expirySeconds > RegistryService.MAX_KEY_EXPIRY_SECONDS)) {
      throw AdminException.badRequest("expirySeconds must be between 1 and " + RegistryService.MAX_KEY_EXPIRY_SECONDS);
    }
    respond(ctx, 201, service.createKey(tailnet, reusable != null && reusable,
        expirySeconds == null ? null : Duration.ofSeconds(expirySeconds)), k -> new JsonObject()
        .put("id", k.info().id())
        .put("key", k.key())
        .put("tailnet", k.info().tailnet())
        .put("reusable", k.info().reusable())
        .put("expiresAt", time(k.info().expiresAt())));
  }

  private void deleteNode(RoutingContext ctx) {
    String name = ctx.pathParam("node");
    String suffix = "." + service.domain();
    if (name.endsWith(suffix)) {
      name = name.substring(0, name.length() - suffix.length());
    }
    int dot = name.indexOf('.');
    if (dot <= 0 || name.indexOf('.', dot + 1) >= 0) {
      throw AdminException.badRequest("node must be NAME.TAILNET, got '" + ctx.pathParam("node") + "'");
    }
    String node = label(name.substring(0, dot), "node name");
    String tailnet = label(name.substring(dot + 1), "tailnet name");
    respond(ctx, 204, service.deleteNode(node, tailnet), n -> null);
  }

  // ---------------------------------------------------------------- JSON out

  static JsonObject tailnetJson(Tailnet t) {
    return new JsonObject().put("name", t.name()).put("funnel", t.funnel()).put("ports", new JsonArray(t.ports()))
        .put("createdAt", time(t.createdAt()));
  }

  static JsonObject keyJson(AuthKeyInfo k) {
    return new JsonObject().put("id", k.id()).put("tailnet", k.tailnet()).put("reusable", k.reusable())
        .put("expiresAt", time(k.expiresAt())).put("usedAt", time(k.usedAt())).put("revokedAt", time(k.revokedAt()))
        .put("createdAt", time(k.createdAt()));
  }

  static JsonObject nodeJson(NodeView v) {
    return new JsonObject().put("id", v.node().id()).put("name", v.node().name()).put("tailnet", v.node().tailnet())
        .put("fqdn", v.fqdn()).put("online", v.online()).put("gateways", new JsonArray(v.gateways()))
        .put("ports", new JsonArray(v.ports()))
        .put("refused", dev.funnel.common.bus.PortRefusals.toJson(v.refused())).put("keyId", v.node().keyId())
        .put("createdAt", time(v.node().createdAt()))
        .put("certificateExpiresAt", time(v.certNotAfter())).put("certificateDaysLeft", v.certDaysLeft(Instant.now()));
  }

  private static String time(Instant t) {
    return t == null ? null : t.toString();
  }

  private <T> void respond(RoutingContext ctx, int status, Future<T> result, Function<T, JsonObject> json) {
    result.onSuccess(r -> send(ctx, status, json.apply(r))).onFailure(ctx::fail);
  }

  private static void send(RoutingContext ctx, int status, JsonObject json) {
    if (status == 204 || json == null) {
      ctx.response().setStatusCode(status).end();
    } else {
      ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json.encode());
    }
  }

  private static void error(RoutingContext ctx, int status, String code, String message) {
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    send(ctx, status, new JsonObject().put("error", new JsonObject().put("code", code).put("message", message)));
  }

  private void onFailure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    int status = ctx.statusCode();
    if (failure instanceof AdminException refused) {
      LOG.log(Level.DEBUG, "admin API {0} {1}: {2}; rejecting", ctx.request().method(), ctx.normalizedPath(),
          refused.getMessage());
      error(ctx, refused.code().status, refused.code().name(), refused.getMessage());
    } else if (status == 413) {
      error(ctx, 413, "PAYLOAD_TOO_LARGE", "the request body is larger than " + MAX_BODY_BYTES + " bytes");
    } else if (status == 401) {
      error(ctx, 401, "UNAUTHORIZED", "unauthorized");
    } else if (status == 404) {
      error(ctx, 404, "NOT_FOUND", "not found");
    } else if (status >= 400 && status < 500) {
      error(ctx, status, "BAD_REQUEST", "bad request");
    } else {
      LOG.log(Level.ERROR, "admin API " + ctx.request().method() + " " + ctx.normalizedPath() + " failed", failure);
      error(ctx, 500, "INTERNAL", "internal error; see the registry's log");
    }
  }

  // ---------------------------------------------------------------- JSON in, strictly

  /** The body as a JSON object with no field outside {@code allowed}; 400 otherwise. */
  static JsonObject object(RoutingContext ctx, Set<String> allowed) {
    return object(ctx.body() == null ? null : ctx.body().buffer(), allowed);
  }

  /** {@code body} as a JSON object with no field outside {@code allowed}; {@link AdminException} (400) otherwise. */
  static JsonObject object(Buffer body, Set<String> allowed) {
    if (body == null || body.length() == 0) {
      throw AdminException.badRequest("a JSON object body is required");
    }
    Object parsed;
    try {
      parsed = Json.decodeValue(body);
    } catch (DecodeException e) {
      throw AdminException.badRequest("the body is not valid JSON");
    }
    if (!(parsed instanceof JsonObject json)) {
      throw AdminException.badRequest("the body must be a JSON object");
    }
    for (String field : json.fieldNames()) {
      if (!allowed.contains(field)) {
        throw AdminException.badRequest("unknown field '" + field + "' (allowed: " + new TreeSet<>(allowed) + ")");
      }
    }
    return json;
  }

  static String string(JsonObject json, String field, boolean required) {
    Object v = json.getValue(field);
    if (v == null) {
      if (required) {
        throw AdminException.badRequest("field '" + field + "' is required");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw AdminException.badRequest("field '" + field + "' must be a string");
    }
    return s;
  }

  static Boolean bool(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v != null && !(v instanceof Boolean)) {
      throw AdminException.badRequest("field '" + field + "' must be true or false");
    }
    return (Boolean) v;
  }

  static Long integer(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (v instanceof Integer || v instanceof Long || (v instanceof BigInteger b && b.bitLength() < 64)) {
      return ((Number) v).longValue();
    }
    throw AdminException.badRequest("field '" + field + "' must be an integer");
  }

  static Set<Integer> ports(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray array)) {
      throw AdminException.badRequest("field '" + field + "' must be an array of ports");
    }
    Set<Integer> ports = new TreeSet<>();
    for (Object p : array) {
      if (!(p instanceof Integer port)) {
        throw AdminException.badRequest("field '" + field + "' must hold integers, got " + Json.encode(p));
      }
      if (!PublicPorts.isAllowed(port)) {
        throw AdminException.badRequest("port " + port + " is not a Funnel port (443, 8443, 10000)");
      }
      ports.add(port);
    }
    return ports;
  }

  static String label(String value, String what) {
    if (!Hostnames.isLabel(value)) {
      throw AdminException.badRequest(what + " '" + value
          + "' is not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end)");
    }
    return value;
  }

  // ---------------------------------------------------------------- plumbing

  /** The URL a client on this machine uses to reach {@code host:port}. */
  static String url(String host, int port) {
    String h = switch (host) {
      case "0.0.0.0" -> "127.0.0.1";
      case "::", "0:0:0:0:0:0:0:0" -> "[::1]";
      default -> host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    };
    return "http://" + h + ":" + port;
  }

  private static Buffer readOpenApi() {
    try (InputStream in = AdminApiVerticle.class.getResourceAsStream("/openapi.yaml")) {
      if (in == null) {
        throw new IllegalStateException("openapi.yaml is missing from the classpath");
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
