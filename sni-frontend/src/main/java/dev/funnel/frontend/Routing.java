package dev.funnel.frontend;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.frontend.FrontendMetrics.Outcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The control-plane half of one connection: resolve {@code host:publicPort} (cache, else the
 * registry on the event bus), then open a stream to the node through the gateway holding its
 * session ({@link GatewayLink}: in this JVM, or {@link RemoteGatewayLinks}). When the gateway no
 * longer holds the session, is gone or cannot be reached, the route was stale: drop it, resolve
 * once more (asking for a session on another gateway) and open once more. Fails only with
 * {@link Refusal}. Callbacks run on whatever thread completes them; the caller hops back to its
 * channel's loop.
 */
final class Routing {

  private static final System.Logger LOG = System.getLogger(Routing.class.getName());
  /** Resolve requests per connection when registries cannot be reached (each such failure is immediate). */
  static final int RESOLVE_ATTEMPTS = 3;

  /** An open that worked: the route it took and the node's stream. */
  record Opened(Route route, LinkStreams.End node) {
  }

  private final FrontendConnection.Shared shared;
  private final FrontendOptions options;
  private final String host;
  private final String offered;
  private final int publicPort;
  private final String client;
  private final EventLoop loop;
  /** The client's first bytes, sent with each open (set by {@link #start}). */
  private ByteBuf first;
  /** The route last resolved (for the access log of a refusal); written by whichever thread resolved. */
  private volatile Route route;

  Routing(FrontendConnection.Shared shared, String host, int publicPort, String client, EventLoop loop) {
    this(shared, host, host, publicPort, client, loop);
  }

  /**
   * {@code host}: the node's public name, resolved; {@code offered}: the name the node is offered
   * (the same, or a verified custom domain of it).
   */
  Routing(FrontendConnection.Shared shared, String host, String offered, int publicPort, String client,
          EventLoop loop) {
    this.shared = shared;
    this.options = shared.options();
    this.host = host;
    this.offered = offered;
    this.publicPort = publicPort;
    this.client = client;
    this.loop = loop;
  }

  Route route() {
    return route;
  }

  /**
   * Resolves the route and opens the tunnel; {@code first} (the client's bytes read so far) goes with
   * every open (GatewayLink). Takes {@code first}: released once routing is decided.
   */
  Future<Opened> start(ByteBuf first) {
    this.first = first;
    return resolve(false, null).compose(found -> open(found, false)).andThen(decided -> first.release());
  }

  /** The route for {@code host:publicPort}: cached (unless {@code fresh}), or asked of the registry (then cached). */
  private Future<Route> resolve(boolean fresh, String avoidGateway) {
    DeliveryOptions delivery = new DeliveryOptions().setSendTimeout(options.getResolveTimeoutMillis());
    if (avoidGateway != null) {
      delivery.addHeader(Addresses.HEADER_AVOID_GATEWAY, avoidGateway);
    }
    if (!fresh) {
      Optional<Route> cached = shared.routes().get(host, publicPort);
      if (cached.isPresent()) {
        route = cached.get();
        return Future.succeededFuture(route);
      }
    }
    return askRegistry(delivery, RESOLVE_ATTEMPTS);
  }

  /**
   * One resolve request. A registry that could not be reached at all (no handler, its process
   * unreachable, or its process left the cluster while the request waited) is worth another try,
   * which the event bus sends to the next registry, up to {@link #RESOLVE_ATTEMPTS} in all: such
   * failures come at once (see {@code LocalLookupClusterManager}). A timeout is not retried.
   */
  private Future<Route> askRegistry(DeliveryOptions delivery, int attemptsLeft) {
    long started = System.nanoTime();
    return shared.gone().watchResolve(shared.vertx().eventBus()
        .<Route>request(Addresses.REGISTRY_RESOLVE, new ResolveRequest(host, publicPort), delivery))
        .transform(answer -> {
          long nanos = System.nanoTime() - started;
          if (answer.succeeded()) {
            shared.metrics().resolve(nanos, "found");
            route = answer.result().body();
            shared.routes().put(host, publicPort, route);
            return Future.succeededFuture(route);
          }
          Throwable cause = answer.cause();
          boolean unreached = cause instanceof GoneGateways.RegistryLeft || cause instanceof ReplyException re
              && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.ERROR);
          if (attemptsLeft > 1 && unreached) {
            LOG.log(DEBUG, "{0} on :{1}: resolving {2} failed ({3}); asking again", client, publicPort, host,
                cause.getMessage());
            return askRegistry(delivery, attemptsLeft - 1);
          }
          Optional<ResolveFailure> failure = FailureCode.of(cause).flatMap(ResolveFailure::fromCode);
          shared.metrics().resolve(nanos, failure.map(f -> f.name().toLowerCase(Locale.ROOT)).orElse("error"));
          return Future.failedFuture(resolveRefusal(failure, cause));
        });
  }

  private Refusal resolveRefusal(Optional<ResolveFailure> failure, Throwable cause) {
    String what = host + ":" + publicPort;
    if (failure.isEmpty()) {
      return new Refusal(TlsAlert.INTERNAL_ERROR, Outcome.REGISTRY_UNAVAILABLE,
          "registry did not resolve " + what + " (" + cause.getMessage() + ")");
    }
    return switch (failure.get()) {
      case NO_ROUTE -> new Refusal(TlsAlert.UNRECOGNIZED_NAME, Outcome.NO_ROUTE, "no route for " + what);
      case FUNNEL_OFF -> new Refusal(TlsAlert.HANDSHAKE_FAILURE, Outcome.FUNNEL_OFF, "funnel is off for " + what);
      case PORT_NOT_ALLOWED -> new Refusal(TlsAlert.HANDSHAKE_FAILURE, Outcome.PORT_NOT_ALLOWED,
          "port " + publicPort + " is not allowed for " + host);
    };
  }

  private Future<Opened> open(Route target, boolean retried) {
    return openOnce(target).recover(err -> {
      if (!retried && err instanceof Refusal refusal && refusal.staleRoute) {
        shared.routes().remove(host, publicPort);
        LOG.log(INFO, "{0} on :{1}: {2}; resolving again", client, publicPort, refusal.getMessage());
        return resolve(true, target.gatewayId()).compose(fresh -> open(fresh, true));
      }
      return Future.failedFuture(err);
    });
  }

  private Future<Opened> openOnce(Route target) {
    String gateway = target.gatewayId();
    OpenRequest request = new OpenRequest(target.nodeId(), target.epoch(), offered, publicPort, client,
        options.getFrontendId());
    @SuppressWarnings("unchecked")
    Future<LinkStreams.End>[] sent = new Future[1];
    return shared.gone().watch(gateway, target.nodeId(), target.epoch(),
            () -> sent[0] = bounded(shared.link(gateway), request))
        .transform(answer -> {
          if (answer.succeeded()) {
            return Future.succeededFuture(new Opened(target, answer.result()));
          }
          if (sent[0] != null) {
            // Failed over before the gateway answered (it left, the session was withdrawn): a stream
            // that still comes is nobody's.
            sent[0].onSuccess(LinkStreams.End::abandon);
          }
          Throwable cause = answer.cause();
          Optional<OpenFailure> failure = FailureCode.of(cause).flatMap(OpenFailure::fromCode);
          // Not a coded answer from the gateway (unreachable, no answer in time, its process left the
          // cluster, the registry withdrew the session): it may be gone; so is a gateway that no
          // longer holds the session, or whose session of the node has no link connection (the
          // node's other session, on another gateway, may have one).
          boolean stale = failure.isEmpty() || failure.get() == OpenFailure.NODE_GONE
              || failure.get() == OpenFailure.NO_DATA_CONNECTION;
          String why = failure.map(Enum::name).orElse(cause instanceof GoneGateways.Left ? "its process left the cluster"
              : cause instanceof GoneGateways.Withdrawn ? "session withdrawn"
              : cause instanceof NoAnswer ? "no answer"
              : "unreachable");
          return Future.failedFuture(new Refusal(TlsAlert.INTERNAL_ERROR, Outcome.NODE_UNREACHABLE,
              "gateway " + gateway + " did not open a stream to node " + target.nodeId() + " (" + why + ": "
                  + cause.getMessage() + ")", stale));
        });
  }

  /**
   * The link's open, bounded by the open timeout (a link bounds its own waits; this is the
   * backstop). A stream that arrives after the result was decided (timeout, gateway gone) is closed.
   */
  private Future<LinkStreams.End> bounded(GatewayLink link, OpenRequest request) {
    Promise<LinkStreams.End> result = Promise.promise();
    long timeout = options.getOpenTimeoutMillis() + options.getLinkDialTimeoutMillis();
    ScheduledFuture<?> timer = loop.schedule(() -> {
      result.tryFail(new NoAnswer("no answer within " + timeout + " ms"));
    }, timeout, TimeUnit.MILLISECONDS);
    link.open(request, first, loop).addListener(done -> {
      timer.cancel(false);
      if (done.isSuccess()) {
        LinkStreams.End node = (LinkStreams.End) done.getNow();
        if (!result.tryComplete(node)) {
          node.abandon();
        }
      } else {
        result.tryFail(done.cause());
      }
    });
    return result.future();
  }

  /** The open got no answer in time. */
  static final class NoAnswer extends RuntimeException {
    NoAnswer(String message) {
      super(message, null, false, false);
    }
  }
}
