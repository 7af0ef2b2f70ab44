package dev.funnel.terminator;

import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import dev.funnel.terminator.gate.GateChain;
import dev.funnel.terminator.gate.GateContext;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.lang.System.Logger.Level;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * One public HTTP port on one event loop: the request handler of its server, which hands every
 * request to the port's current Vert.x Web {@link Router}:
 *
 * <ol>
 *   <li>{@link PortGuard} (count, 400/421/405, pause);</li>
 *   <li>routes gate factories added (e.g. a login callback);</li>
 *   <li>one route per path prefix, longest first (so the longest prefix wins; Vert.x Web matches
 *       {@code /api/*} on whole segments of the normalized path: {@code /api}, {@code /api/x}, not
 *       {@code /apix}), each with its gate chain ({@link GateChain}) then its target's handlers;</li>
 *   <li>{@code 404} when no route takes the path; a failure handler that answers with a short page.</li>
 * </ol>
 *
 * A change builds a whole new router ({@link #prepare}) and swaps it in one volatile write
 * ({@link Prepared#commit}): a request reads the router once, so it sees the old config or the new
 * one, never a mix; connections stay open. Backend clients are kept per target across changes; one
 * no route names any more is shut down gracefully (its requests in flight may finish, up to the
 * idle timeout). Confined to its event loop, but for {@link #handle}.
 */
final class HttpPort implements Handler<HttpServerRequest> {

  private static final System.Logger LOG = System.getLogger(HttpPort.class.getName());

  /** Backend clients are per target (not per route): two routes to one server share its pool. */
  private record ClientKey(ServeTarget.Kind kind, String host, int port) {
    static ClientKey of(ServeTarget t) {
      return new ClientKey(t.kind(), t.host(), t.port());
    }
  }

  /** A router built and ready; {@link #commit()} puts it in service. */
  interface Prepared {
    void commit();
  }

  private final Vertx vertx;
  private final int publicPort;
  private final TerminatorOptions options;
  private final TerminatorMetrics metrics;
  private final GateChain gates;
  private final ConcurrentMap<String, Object> shared;
  /** The port's budget of log lines for refused and failed requests (PortLogs: one for all event loops). */
  private final LogLimit refusals;
  private final Map<ClientKey, HttpClient> clients = new HashMap<>();
  private volatile Router router;
  private volatile ServePort config;

  HttpPort(Vertx vertx, int publicPort, TerminatorOptions options, TerminatorMetrics metrics, GateChain gates,
      ConcurrentMap<String, Object> shared) {
    this.vertx = vertx;
    this.publicPort = publicPort;
    this.options = options;
    this.metrics = metrics;
    this.gates = gates;
    this.shared = shared;
    this.refusals = PortLogs.refusals(shared, publicPort);
    metrics.httpPort(publicPort);
  }

  @Override
  public void handle(HttpServerRequest request) {
    router.handle(request);
  }

  /** The config being served. */
  ServePort config() {
    return config;
  }

  /** Builds the router for {@code next} (gate chains may take a while); fails when a route cannot be served as asked. */
  Future<Prepared> prepare(ServePort next) {
    if (next.isStream()) {
      return Future.failedFuture(new IllegalArgumentException("port " + publicPort + ": " + next.agentTarget()
          + " is a stream, not HTTP"));
    }
    Router r = Router.router(vertx);
    r.route().handler(new PortGuard(publicPort, options::serves, metrics, refusals));
    List<Future<List<Handler<RoutingContext>>>> chains = new ArrayList<>();
    for (ServeRoute route : next.routes()) {
      chains.add(gates.build(next.effective(route), new GateContext(vertx, r, publicPort, route.path(),
          options.getServerNames(), shared, metrics::gateDecision)));
    }
    return Future.all(chains).map(all -> {
      for (int i = 0; i < next.routes().size(); i++) {
        ServeRoute route = next.routes().get(i);
        Route mounted = r.route(route.path().equals("/") ? "/*" : route.path() + "/*");
        chains.get(i).result().forEach(mounted::handler);
        targetHandlers(route).forEach(mounted::handler);
      }
      r.route().handler(FileTarget::notFound);
      r.route().failureHandler(this::failed);
      return () -> {
        router = r;
        config = next;
        retireClients(next);
      };
    });
  }

  private List<Handler<RoutingContext>> targetHandlers(ServeRoute route) {
    ServeTarget target = route.target();
    return switch (target.kind()) {
      case HTTP, HTTPS_INSECURE -> List.of(new HttpForwarder(vertx, publicPort, route.path(), target,
          clients.computeIfAbsent(ClientKey.of(target), k -> HttpForwarder.newClient(vertx, target, options)), options,
          PortLogs.outages(shared, publicPort, target, "answering 502 (504 when it accepts but does not"
              + " answer in time)")));
      case FILE -> FileTarget.handlers(publicPort, target, refusals);
      case TEXT -> List.of(BuiltinTargets.text(target));
      case REDIRECT -> List.of(BuiltinTargets.redirect(route.path(), target));
      case TCP, TLS_TERMINATED_TCP -> throw new IllegalArgumentException(target + " cannot be a route");
    };
  }

  /** Shuts down, gracefully, the clients of targets {@code next} no longer names. */
  private void retireClients(ServePort next) {
    Set<ClientKey> used = new HashSet<>();
    next.routes().forEach(r -> {
      if (r.target().kind().isProxy()) {
        used.add(ClientKey.of(r.target()));
      }
    });
    clients.entrySet().removeIf(e -> {
      if (used.contains(e.getKey())) {
        return false;
      }
      e.getValue().shutdown(options.getIdleTimeoutSeconds(), TimeUnit.SECONDS);
      return true;
    });
  }

  /**
   * A handler failed ({@code ctx.fail}, an exception): a short page with its status, no details. When
   * the client has gone (see {@link #clientLeft}) there is no one to answer and nothing failed here.
   */
  private void failed(RoutingContext ctx) {
    int status = ctx.statusCode() >= 400 ? ctx.statusCode() : 500;
    if (clientLeft(ctx.failure(), ctx.response().closed(), ctx.response().headWritten())) {
      LOG.log(Level.DEBUG, () -> "port " + publicPort + ": " + ctx.request().method() + " " + ctx.request().path()
          + ": the client went before the answer was written (" + ctx.failure() + ")");
      if (!ctx.response().ended() && !ctx.response().closed()) {
        ctx.response().reset();
      }
      return;
    }
    if (status >= 500) {
      refusals.log(LOG, Level.WARNING, "lines like this", () -> "port " + publicPort + ": " + ctx.request().method()
          + " failed; answering " + status, ctx.failure());
    }
    if (ctx.response().ended() || ctx.response().headWritten()) {
      if (!ctx.response().ended()) {
        ctx.response().reset();
      }
      return;
    }
    String reason = switch (status) {
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 413 -> "Content Too Large";
      case 416 -> "Range Not Satisfiable";
      case 429 -> "Too Many Requests";
      case 503 -> "Service Unavailable";
      default -> status < 500 ? "Client Error" : "Internal Server Error";
    };
    HttpForwarder.plain(ctx.response(), status, status + " " + reason + "\n");
  }

  /**
   * Whether a failure is only the client going away: its stream or connection is closed, or the answer
   * had started and the failure is a closed stream or channel. A client that has all a file's bytes
   * (it counts {@code Content-Length}) may close its HTTP/2 connection before the empty
   * {@code END_STREAM} frame that ends the answer is written; that write fails, and StaticHandler
   * reports it as the request's failure. Not a server error: no 500, no WARNING.
   */
  static boolean clientLeft(Throwable failure, boolean responseClosed, boolean headWritten) {
    if (responseClosed) {
      return true;
    }
    if (!headWritten) {
      return false;
    }
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ClosedChannelException || t instanceof HttpClosedException) {
        return true;
      }
    }
    return false;
  }

  /** Closes every backend client (the port is stopping). */
  Future<?> close() {
    List<Future<Void>> closing = new ArrayList<>();
    clients.values().forEach(c -> closing.add(c.close()));
    clients.clear();
    return Future.join(closing);
  }
}
