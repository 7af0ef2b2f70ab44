package dev.funnel.launcher;

import dev.funnel.common.PublicPorts;
import dev.funnel.common.options.ServeTarget;
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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
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
 * GET    /v1/serve          → 200 {"fqdn", "serve": [{"port", "target"}…]}
 * PUT    /v1/serve/{port}   {"target": "tcp://…"} → 200 (the new serve config)
 * DELETE /v1/serve/{port}   → 200 (the new serve config) | 404 NOT_FUNNELLED
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

  /** What the control changes: the running node's serve config. Methods other than reads block. */
  interface ServeControl {

    /** The node's public name. */
    String fqdn();

    /** Public port → target, as the node answers offers now. */
    Map<Integer, ServeTarget> serve();

    /** Funnels {@code port} to {@code target} (replacing any target it had); blocks until applied. */
    Map<Integer, ServeTarget> put(int port, ServeTarget target);

    /** Stops funnelling {@code port}; blocks until applied. {@link Failure} NOT_FUNNELLED if it was not. */
    Map<Integer, ServeTarget> remove(int port);

    /** Orders a new ACME certificate now; blocks until it is in use; returns its expiry. {@link Failure} NO_ACME. */
    String renewCertificate();
  }

  /** A refusal with an HTTP status and a stable code; the message is shown to the user as is. */
  static final class Failure extends RuntimeException {
    final int status;
    final String code;

    Failure(int status, String code, String message) {
      super(message, null, false, false);
      this.status = status;
      this.code = code;
    }
  }

  private final Path stateDir;
  private final ServeControl control;
  private final String token;
  /** Where changes run, one at a time. */
  private final ExecutorService changes = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "funnel-node-control");
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
            writePrivate(stateDir.resolve(TOKEN_FILE), token);
            writePrivate(stateDir.resolve(URL_FILE), url());
            return null;
          });
        })
        .onSuccess(v -> LOG.log(Level.INFO, "local control on {0} (token in {1})", url(),
            stateDir.resolve(TOKEN_FILE)));
  }

  @Override
  public Future<?> stop() {
    changes.shutdownNow();
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
    if (body == null || !body.fieldNames().equals(Set.of("target")) || !(body.getValue("target") instanceof String)) {
      error(ctx, 400, "BAD_REQUEST", "the body must be {\"target\": \"tcp://HOST:PORT\"} and nothing else");
      return;
    }
    ServeTarget target;
    try {
      target = ServeTarget.parse(body.getString("target"));
    } catch (IllegalArgumentException e) {
      error(ctx, 400, "BAD_REQUEST", e.getMessage());
      return;
    }
    change(ctx, () -> control.put(publicPort, target));
  }

  private void remove(RoutingContext ctx) {
    int publicPort = publicPort(ctx);
    if (publicPort >= 0) {
      change(ctx, () -> control.remove(publicPort));
    }
  }

  /**
   * Runs one change on the control's own thread (one at a time, so changes never interleave) and
   * answers on the event loop. Not a Vert.x worker: a change waits on Vert.x futures, which Vert.x 5
   * refuses on its own threads.
   */
  private void change(RoutingContext ctx, Callable<Map<Integer, ServeTarget>> work) {
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
          } else if (failed instanceof Failure f) {
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

  private void answer(RoutingContext ctx, Map<Integer, ServeTarget> serve) {
    JsonArray entries = new JsonArray();
    new TreeMap<>(serve).forEach((p, t) -> entries.add(new JsonObject().put("port", p).put("target", t.toString())));
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("fqdn", control.fqdn()).put("serve", entries).encode());
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

  /** Writes {@code content} through a file created 0600 and an atomic rename. Blocking. */
  static void writePrivate(Path file, String content) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.deleteIfExists(tmp);
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        channel.write(StandardCharsets.UTF_8.encode(content));
        channel.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
