package dev.funnel.registry;

import static dev.funnel.registry.AdminReplies.error;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.RegistryOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
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
import java.util.Set;

/**
 * The admin REST API (Vert.x Web) on {@code options.getAdminListen()}: tailnets, auth keys and
 * nodes under {@code /v1}, each call authorised by the bearer token in {@code <stateDir>/admin-token};
 * {@code /v1/openapi.yaml}, {@code /health} and {@code /ready} need no token. Errors are
 * {@code {"error":{"code":…,"message":…}}} and never carry a stack trace. Routes and fields are
 * described in {@code openapi.yaml}. This class listens, checks the token and maps failures; the
 * routes of each resource are in {@link AdminTailnetRoutes}, {@link AdminKeyRoutes},
 * {@link AdminNodeRoutes} and {@link AdminAliasRoutes}, the console's in {@link ConsoleRoutes}.
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
  /** The ports a new tailnet allows when the request names none. */
  public static final Set<Integer> DEFAULT_PORTS = Set.of(443);

  private final RegistryOptions options;
  private final RegistryService service;
  private AdminAuthGuard authGuard;
  private ConsoleRoutes console;
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
    console = new ConsoleRoutes(vertx, service, authGuard, () -> token, consoleMaxSessions, options);
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
      LOG.log(Level.INFO, "admin API on {0} (console {0}/ui/)", url);
    });
  }

  @Override
  public Future<?> stop() {
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

    AdminTailnetRoutes.mount(router, service);
    AdminKeyRoutes.mount(router, service);
    AdminNodeRoutes.mount(router, service);
    AdminAliasRoutes.mount(router, service);

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
