package dev.funnel.launcher;

import dev.funnel.common.PublicPorts;
import dev.funnel.common.StateFiles;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.RoutePaths;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * The running node's local control: what {@code funnel node serve list|add|rm} talk to. An HTTP
 * server on {@code 127.0.0.1:0}; every call needs {@code Authorization: Bearer <token>}, where the
 * token is fresh for each run and written, with the URL, into the node's state directory
 * ({@code control-token}, {@code control-url}, mode 0600 from creation on) so only the node's owner
 * can read it. Both files are removed when the node stops.
 *
 * <pre>
 * GET    /v1/serve          → 200 {"fqdn", "serve": [{"port", "path", "target", "gate"?}…], "ports": [ServePort JSON…],
 *                              "refused": {"PORT": "why"}, "decisions": {"PORT /path": {"rule/outcome": n}}}
 *                              (one entry per route; "gate": the route's effective rules, when any)
 * PUT    /v1/serve/{port}   {"target", "path"?, "policy"?} → 200 (the new serve config): adds or replaces
 *                              the route on path (default /), with its own gate rules (policy JSON: flag names as keys)
 *                           {"policy", "path"?} → 200: replaces the gate rules of the port (no path) or of a route
 * GET    /v1/status[?probe=false] → 200 what {@code funnel status} shows ({@link NodeStatus}), with a live probe
 *                                   of each public port unless probe=false
 * DELETE /v1/serve/{port}[?path=/p] → 200 (the new serve config) | 404 NOT_FUNNELLED: the port, or one route
 * POST   /v1/cert/renew     → 200 {"notAfter"} once a new ACME certificate is in use | 409 NO_ACME
 *                            | 502 ACME_FAILED | 504 TIMEOUT
 * errors: {"error": {"code", "message"}} — 400 BAD_REQUEST, 401 UNAUTHORIZED, 404 NOT_FOUND,
 *         502 NOT_CONFIRMED (applied on the node; the gateway did not confirm), 503 UNAVAILABLE
 * </pre>
 *
 * Changes run one at a time on the control's own thread ({@link ServeControl} methods block: a
 * target that terminates TLS may need a certificate and a terminator listener first).
 */
final class NodeControl extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(NodeControl.class.getName());

  static final String TOKEN_FILE = "control-token";
  static final String URL_FILE = "control-url";
  /** A request body is one small JSON object. */
  static final int MAX_BODY_BYTES = 4 * 1024;

  private final Path stateDir;
  private final ServeControl control;
  private final String token;
  /** Where changes run, one at a time. */
  private final ExecutorService changes = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "funnel-node-control");
    t.setDaemon(true);
    return t;
  });
  /** Where status calls run (a probe takes up to seconds per port), one at a time, apart from changes. */
  private final ExecutorService reads = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "funnel-node-status");
    t.setDaemon(true);
    return t;
  });
  private HttpServer server;
  private int port;

  NodeControl(Path stateDir, ServeControl control) {
    this.stateDir = stateDir;
    this.control = control;
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    this.token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.route().handler(this::authenticate);
    router.route("/v1/serve*").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES));
    router.get("/v1/serve").handler(ctx -> answer(ctx, control.serve()));
    router.put("/v1/serve/:port").handler(this::put);
    router.delete("/v1/serve/:port").handler(this::remove);
    router.get("/v1/status").handler(this::status);
    router.post("/v1/cert/renew").handler(this::renew);
    router.route().handler(ctx -> error(ctx, 404, "NOT_FOUND", "no such call: " + ctx.request().method() + " "
        + ctx.request().path()));
    router.route().failureHandler(this::failed);
    server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)
        .setMaxInitialLineLength(1024).setMaxHeaderSize(8 * 1024));
    return server.requestHandler(router).listen()
        .compose(s -> {
          port = s.actualPort();
          return vertx.executeBlocking(() -> {
            StateFiles.writePrivate(stateDir.resolve(TOKEN_FILE), token);
            StateFiles.writePrivate(stateDir.resolve(URL_FILE), url());
            return null;
          });
        })
        .onSuccess(v -> LOG.log(Level.INFO, "local control on {0} (token in {1})", url(),
            stateDir.resolve(TOKEN_FILE)));
  }

  @Override
  public Future<?> stop() {
    changes.shutdownNow();
    reads.shutdownNow();
    return vertx.executeBlocking(() -> {
      Files.deleteIfExists(stateDir.resolve(URL_FILE));
      Files.deleteIfExists(stateDir.resolve(TOKEN_FILE));
      return null;
    }).recover(err -> Future.succeededFuture()).compose(v -> server == null ? Future.succeededFuture() : server.close());
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  int actualPort() {
    return port;
  }

  // ---------------------------------------------------------------- routes

  private void authenticate(RoutingContext ctx) {
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : "";
    if (!MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
      LOG.log(Level.INFO, "control call {0} {1} without the right token; rejecting", ctx.request().method(),
          ctx.request().path());
      error(ctx, 401, "UNAUTHORIZED", "missing or wrong bearer token (see " + TOKEN_FILE + " in the node's state)");
      return;
    }
    ctx.next();
  }

  private void put(RoutingContext ctx) {
    int publicPort = publicPort(ctx);
    if (publicPort < 0) {
      return;
    }
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      body = null;
    }
    ServeChange change;
    try {
      change = ServeChange.parse(body);
    } catch (IllegalArgumentException e) {
      error(ctx, 400, "BAD_REQUEST", e.getMessage());
      return;
    }
    if (change.route() != null) {
      change(ctx, () -> control.putRoute(publicPort, change.route()));
    } else {
      change(ctx, () -> control.putPolicy(publicPort, change.path(), change.policy()));
    }
  }

  private void remove(RoutingContext ctx) {
    int publicPort = publicPort(ctx);
    if (publicPort < 0) {
      return;
    }
    String raw = ctx.queryParams().get("path");
    String path;
    try {
      path = raw == null ? null : RoutePaths.canonical(raw);
    } catch (IllegalArgumentException e) {
      error(ctx, 400, "BAD_REQUEST", e.getMessage());
      return;
    }
    change(ctx, () -> control.remove(publicPort, path));
  }

  /**
   * Runs one change on the control's own thread (one at a time, so changes never interleave) and
   * answers on the event loop. Not a Vert.x worker: a change waits on Vert.x futures, which Vert.x 5
   * refuses on its own threads.
   */
  private void change(RoutingContext ctx, Callable<ServeConfig> work) {
    run(ctx, work, this::answer);
  }

  /** {@code POST /v1/cert/renew}: a new ACME certificate, on the control's thread like a serve change. */
  private void renew(RoutingContext ctx) {
    run(ctx, control::renewCertificate, (c, notAfter) -> c.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("fqdn", control.fqdn()).put("notAfter", notAfter).encode()));
  }

  private <T> void run(RoutingContext ctx, Callable<T> work, java.util.function.BiConsumer<RoutingContext, T> answer) {
    Context context = vertx.getOrCreateContext();
    try {
      changes.execute(() -> {
        T result = null;
        Throwable failure = null;
        try {
          result = work.call();
        } catch (Throwable t) {
          failure = t;
        }
        T done = result;
        Throwable failed = failure;
        context.runOnContext(v -> {
          if (failed == null) {
            answer.accept(ctx, done);
          } else if (failed instanceof ServeControl.Failure f) {
            error(ctx, f.status, f.code, f.getMessage());
          } else {
            LOG.log(Level.WARNING, "node control change failed", failed);
            error(ctx, 503, "UNAVAILABLE", Processes.describe(failed));
          }
        });
      });
    } catch (RejectedExecutionException e) {
      error(ctx, 503, "UNAVAILABLE", "the node is stopping");
    }
  }

  private void status(RoutingContext ctx) {
    boolean probe = !"false".equalsIgnoreCase(ctx.request().getParam("probe"));
    Context context = vertx.getOrCreateContext();
    try {
      reads.execute(() -> {
        JsonObject result;
        try {
          result = control.status(probe);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "status failed", e);
          context.runOnContext(v -> error(ctx, 503, "UNAVAILABLE", Processes.describe(e)));
          return;
        }
        context.runOnContext(v -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
            .end(result.encode()));
      });
    } catch (RejectedExecutionException e) {
      error(ctx, 503, "UNAVAILABLE", "the node is stopping");
    }
  }

  /** The path's public port, or -1 after answering 400. */
  private static int publicPort(RoutingContext ctx) {
    String text = ctx.pathParam("port");
    int p;
    try {
      p = Integer.parseInt(text);
    } catch (NumberFormatException e) {
      p = -1;
    }
    if (!PublicPorts.isAllowed(p)) {
      error(ctx, 400, "BAD_REQUEST", "'" + text + "' is not a Funnel port (443, 8443, 10000)");
      return -1;
    }
    return p;
  }

  private void answer(RoutingContext ctx, ServeConfig serve) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(describe(control.fqdn(), serve)
        .put("refused", dev.funnel.common.bus.PortRefusals.toJson(control.refused()))
        .put("decisions", new JsonObject(new java.util.TreeMap<String, Object>(control.decisions()))).encode());
  }

  /** The answer's JSON: one "serve" entry per route (shortest path first), plus the config as it is kept. */
  static JsonObject describe(String fqdn, ServeConfig serve) {
    JsonArray entries = new JsonArray();
    for (ServePort p : serve.ports().values()) {
      for (int i = p.routes().size() - 1; i >= 0; i--) {
        ServeRoute r = p.routes().get(i);
        JsonObject e = new JsonObject().put("port", p.port()).put("path", r.path()).put("target", r.target().toString());
        GatePolicy effective = p.effective(r);
        if (!effective.isEmpty()) {
          e.put("gate", effective.toJson());
        }
        entries.add(e);
      }
    }
    return new JsonObject().put("fqdn", fqdn).put("serve", entries).put("ports", serve.toJson());
  }

  private void failed(RoutingContext ctx) {
    int status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
    if (status == 413) {
      error(ctx, 413, "BAD_REQUEST", "the body is larger than " + MAX_BODY_BYTES + " bytes");
    } else if (status < 500) {
      error(ctx, status, "BAD_REQUEST", "bad request");
    } else {
      LOG.log(Level.WARNING, "control call " + ctx.request().path() + " failed", ctx.failure());
      error(ctx, 500, "INTERNAL", "internal error");
    }
  }

  private static void error(RoutingContext ctx, int status, String code, String message) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("error", new JsonObject().put("code", code).put("message", message)).encode());
  }
}
