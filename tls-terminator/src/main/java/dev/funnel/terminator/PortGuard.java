package dev.funnel.terminator;

import dev.funnel.common.ops.LogLimit;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.web.RoutingContext;
import java.lang.System.Logger.Level;
import java.util.Set;

/**
 * The first handler of every request on an HTTP port: counts it ({@link Exchange}), removes incoming
 * copies of the login gate's user headers ({@link ForwardedHeaders#stripIdentity}), then the guard
 * ladder — no host → {@code 400}, a host that is not one of the node's names → {@code 421},
 * {@code CONNECT} → {@code 405} — each refusal logged once with its reason (within the port's
 * {@link LogLimit}). A request that passes is
 * paused (gates may answer later; the target resumes it) and goes on to the routes.
 */
final class PortGuard implements Handler<RoutingContext> {

  private static final System.Logger LOG = System.getLogger(PortGuard.class.getName());
  /** RoutingContext key of the request's {@link Exchange}. */
  static final String EXCHANGE = "funnel.exchange";

  private final int publicPort;
  private final java.util.function.Predicate<String> serves;
  private final TerminatorMetrics metrics;
  private final LogLimit refusals;

  PortGuard(int publicPort, Set<String> serverNames, TerminatorMetrics metrics) {
    this(publicPort, Set.copyOf(serverNames)::contains, metrics, new LogLimit());
  }

  /**
   * {@code serves}: whether a (lower-case) host is one of the node's names, asked per request;
   * {@code refusals}: the port's budget of log lines for refused requests.
   */
  PortGuard(int publicPort, java.util.function.Predicate<String> serves, TerminatorMetrics metrics,
            LogLimit refusals) {
    this.publicPort = publicPort;
    this.serves = serves;
    this.metrics = metrics;
    this.refusals = refusals;
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    ctx.put(EXCHANGE, Exchange.track(ctx, metrics, publicPort));
    // Before any gate: the only Funnel-User-* headers a backend can see are the ones a login gate set.
    ForwardedHeaders.stripIdentity(request.headers());
    // Whatever answers, an unread body must not stall the connection: let the rest go once the response ends.
    ctx.addEndHandler(ar -> {
      if (!request.isEnded()) {
        request.resume();
      }
    });
    HostAndPort authority = request.authority();
    if (authority == null || authority.host() == null || authority.host().isEmpty()) {
      refusals.log(LOG, Level.INFO, "refusals", () -> "port " + publicPort + ": request without Host or :authority;"
          + " rejecting");
      HttpForwarder.plain(ctx.response(), 400, "400 Bad Request: the request names no host.\n");
      return;
    }
    String host = ForwardedHeaders.authorityHost(authority.host());
    if (!serves.test(host)) {
      refusals.log(LOG, Level.INFO, "refusals", () -> "port " + publicPort + ": request for " + host
          + ", which is not this node's name; rejecting with 421");
      HttpForwarder.plain(ctx.response(), 421, "421 Misdirected Request: this connection does not serve that host.\n");
      return;
    }
    if (request.method() == HttpMethod.CONNECT) {
      refusals.log(LOG, Level.INFO, "refusals", () -> "port " + publicPort + ": CONNECT request; rejecting");
      HttpForwarder.plain(ctx.response(), 405, "405 Method Not Allowed: this is not a forward proxy.\n");
      return;
    }
    if (!UpgradeRelay.isUpgrade(request) && !request.isEnded()) {
      request.pause();
    }
    ctx.next();
  }
}
