package dev.funnel.frontend;

import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LocalStreams;
import dev.funnel.common.net.Pacer;
import dev.funnel.common.net.Tunnel;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.frontend.ClientHello.Found;
import dev.funnel.frontend.ClientHello.Malformed;
import dev.funnel.frontend.ClientHello.NeedMore;
import dev.funnel.frontend.ClientHello.NoSni;
import dev.funnel.frontend.ClientHello.NotTls;
import dev.funnel.frontend.FrontendMetrics.Outcome;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * One public connection, from accept to hand-off: read the ClientHello (peek, never consume),
 * route its name, open a stream to the node, then splice the two with every byte read so far sent
 * first. Every refusal is one log line with its reason, one metric with the same reason as a
 * bounded label, and (for TLS clients) one fatal alert.
 *
 * <p>Runs on the verticle's event loop only; no field needs a lock.
 */
final class FrontendConnection {

  private static final System.Logger LOG = System.getLogger(FrontendConnection.class.getName());
  private static final System.Logger ACCESS = System.getLogger("funnel.access");
  /** Resolve requests per connection when registries cannot be reached (each such failure is immediate). */
  static final int RESOLVE_ATTEMPTS = 3;

  /** What the connections of one verticle share: an immutable view of the options, the cache, the meters. */
  record Shared(Vertx vertx, FrontendOptions options, String domain, RouteCache routes, FrontendMetrics metrics,
                RelayClient relay, GoneGateways gone, TailnetShaper shaper) {
  }

  private enum State {
    /** Reading the ClientHello, under the deadline and the size cap. */
    READING,
    /** Hello complete, socket paused; resolving and opening. */
    ROUTING,
    /** Handed to {@link Tunnel}; this class only writes the access log when it ends. */
    SPLICED,
    /** Refused or gone. */
    DONE
  }

  private final Shared shared;
  private final FrontendOptions options;
  private final NetSocket socket;
  private final int publicPort;
  private final String client;
  /** Every byte read from the client so far, exactly as received: the node gets these first. */
  private final Buffer received = Buffer.buffer();

  private State state = State.READING;
  private int parseAt = 1;
  private long helloTimer = -1;
  private long helloNanos;
  private String host;
  /** The name the client asked for, for the access log: the routable host, or the raw name (at most 255 chars). */
  private String sni;
  private Route route;
  private final long acceptedNanos = System.nanoTime();

  FrontendConnection(Shared shared, NetSocket socket, int publicPort) {
    this.shared = shared;
    this.options = shared.options();
    this.socket = socket;
    this.publicPort = publicPort;
    this.client = address(socket.remoteAddress());
  }

  void start() {
    Tunnel.prepare(socket);
    socket.handler(this::onData);
    socket.closeHandler(v -> onClosed());
    socket.exceptionHandler(err -> LOG.log(DEBUG, "{0} on :{1}: {2}", client, publicPort, err.toString()));
    helloTimer = shared.vertx().setTimer(options.getHelloTimeoutMillis(), id -> onHelloTimeout());
  }

  // --- reading the hello ------------------------------------------------------------------------

  /**
   * Bytes from the client, until the hello is whole. Then the socket is paused: whatever the client
   * sends while the route is opened (early data, even its FIN) waits in the socket, in order, and
   * {@link Tunnel#splice} carries it after the prefix.
   */
  private void onData(Buffer chunk) {
    if (state != State.READING) {
      return;   // paused from the hello on; nothing reaches this handler after that
    }
    if (Tunnel.isInputEnd(chunk)) {
      close(Outcome.CLIENT_CLOSED, "ended its input before a whole ClientHello (" + received.length() + " bytes)");
      return;
    }
    received.appendBuffer(chunk);
    if (received.length() >= parseAt) {
      decide(ClientHello.parse(received, options.getMaxHelloBytes()));
    }
  }

  private void decide(ClientHello.Result result) {
    if (result instanceof NeedMore needMore) {
      parseAt = needMore.atLeast();
      return;
    }
    shared.vertx().cancelTimer(helloTimer);
    helloNanos = System.nanoTime();
    if (result instanceof NotTls) {
      close(Outcome.NOT_TLS, "not a TLS handshake");
    } else if (result instanceof Malformed malformed) {
      refuse(TlsAlert.HANDSHAKE_FAILURE, Outcome.BAD_HELLO, "malformed ClientHello: " + malformed.reason());
    } else if (result instanceof NoSni noSni) {
      shared.metrics().helloBytes(noSni.helloLength());
      refuse(TlsAlert.HANDSHAKE_FAILURE, Outcome.NO_SNI, "ClientHello without server_name");
    } else if (result instanceof Found found) {
      shared.metrics().helloBytes(found.helloLength());
      onHello(found.serverName());
    }
  }

  private void onHelloTimeout() {
    if (state == State.READING) {
      close(Outcome.HELLO_TIMEOUT, "no whole ClientHello within " + options.getHelloTimeoutMillis() + " ms ("
          + received.length() + " bytes)");
    }
  }

  // --- routing ------------------------------------------------------------------------------------

  private void onHello(String serverName) {
    Optional<String> name = ServerNames.routable(serverName, shared.domain());
    sni = name.orElseGet(() -> serverName.substring(0, Math.min(serverName.length(), 255)));
    if (name.isEmpty()) {
      refuse(TlsAlert.UNRECOGNIZED_NAME, Outcome.BAD_NAME,
          "server name " + ServerNames.forLog(serverName) + " is not NODE.TAILNET." + shared.domain());
      return;
    }
    host = name.get();
    state = State.ROUTING;
    socket.pause();
    resolve(false)
        .compose(found -> open(found, false))
        .onComplete(opened -> {
          if (opened.succeeded()) {
            splice(opened.result());
          } else {
            refuse(opened.cause());
          }
        });
  }

  /** The route for {@code host:publicPort}: cached, or asked of the registry (and then cached). */
  private Future<Route> resolve(boolean fresh) {
    return resolve(fresh, null);
  }

  /** As {@link #resolve(boolean)}; {@code avoidGateway}: a gateway just found unreachable (the registry picks another live session if the node has one). */
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
   * failures come at once (see {@code LocalLookupClusterManager}), and with two registries, one of
   * them dead, another connection's resolve may take the live one in between. A timeout is not
   * retried.
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
          Optional<ResolveFailure> failure = FailureCode.of(answer.cause()).flatMap(ResolveFailure::fromCode);
          shared.metrics().resolve(nanos, failure.map(f -> f.name().toLowerCase(Locale.ROOT)).orElse("error"));
          return Future.failedFuture(resolveRefusal(failure, answer.cause()));
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

  /**
   * Asks the gateway holding the node's session for a stream. When the gateway no longer holds it
   * (or is gone, or cannot be reached), the cached route was stale: drop it, resolve once more
   * (asking the registry for a session on another gateway if the node has one), and try once more.
   */
  private Future<LocalStreams.Handoff> open(Route target, boolean retried) {
    return openOnce(target).recover(err -> {
      if (!retried && err instanceof Refusal refusal && refusal.staleRoute) {
        shared.routes().remove(host, publicPort);
        LOG.log(INFO, "{0} on :{1}: {2}; resolving again", client, publicPort, refusal.getMessage());
        return resolve(true, target.gatewayId()).compose(fresh -> open(fresh, true));
      }
      return Future.failedFuture(err);
    });
  }

  private Future<LocalStreams.Handoff> openOnce(Route target) {
    String gateway = target.gatewayId();
    OpenRequest request = new OpenRequest(target.nodeId(), target.epoch(), host, publicPort, client,
        options.getFrontendId());
    return shared.gone().watch(gateway, target.nodeId(), target.epoch(), () -> shared.vertx().eventBus()
        .<OpenReply>request(Addresses.gatewayOpen(gateway), request,
            new DeliveryOptions().setSendTimeout(options.getOpenTimeoutMillis())))
        .transform(answer -> {
          if (answer.failed()) {
            Throwable cause = answer.cause();
            Optional<OpenFailure> failure = FailureCode.of(cause).flatMap(OpenFailure::fromCode);
            ReplyFailure busFailure = cause instanceof ReplyException re ? re.failureType() : null;
            boolean gatewayGone = busFailure == ReplyFailure.NO_HANDLERS;
            // Not a coded answer from the gateway (no handler, its process unreachable, no answer in
            // time, its process left the cluster, the registry withdrew the session): it may be gone;
            // so is a gateway that no longer holds the session.
            boolean unreachable = busFailure != ReplyFailure.RECIPIENT_FAILURE;
            boolean stale = unreachable || failure.filter(f -> f == OpenFailure.NODE_GONE).isPresent();
            String why = failure.map(Enum::name).orElse(gatewayGone ? "no such gateway"
                : cause instanceof GoneGateways.Left ? "its process left the cluster"
                : cause instanceof GoneGateways.Withdrawn ? "session withdrawn"
                : busFailure == ReplyFailure.ERROR ? "its process is unreachable"
                : "no answer");
            return Future.failedFuture(new Refusal(TlsAlert.INTERNAL_ERROR, Outcome.NODE_UNREACHABLE,
                "gateway " + gateway + " did not open a stream to node " + target.nodeId() + " (" + why + ": "
                    + cause.getMessage() + ")", stale));
          }
          OpenReply reply = answer.result().body();
          if (!reply.isLocal()) {
            // The gateway is another process: fetch the stream from its relay port with the ticket.
            return shared.relay().fetch(reply).recover(err -> Future.failedFuture(new Refusal(TlsAlert.INTERNAL_ERROR,
                Outcome.NODE_UNREACHABLE, "gateway " + gateway + ": " + err.getMessage(), true)));
          }
          return LocalStreams.take(reply.ticket())
              .map(Future::succeededFuture)
              .orElseGet(() -> Future.failedFuture(new Refusal(TlsAlert.INTERNAL_ERROR, Outcome.NODE_UNREACHABLE,
                  "the node stream gateway " + gateway + " parked was gone (expired or taken)")));
        });
  }

  // --- hand-off -----------------------------------------------------------------------------------

  private void splice(LocalStreams.Handoff handoff) {
    NetSocket node = handoff.socket();
    if (state != State.ROUTING) {
      node.close();  // the client left while we were opening
      return;
    }
    state = State.SPLICED;
    long setupNanos = System.nanoTime() - helloNanos;
    FrontendMetrics metrics = shared.metrics();
    metrics.setup(setupNanos);
    metrics.connection(publicPort, Outcome.ROUTED);
    metrics.tunnelOpened();
    Tunnel.prepare(node);     // the gateway did this at connect; again is harmless
    Route used = route;
    Pacer[] paced = shared.shaper().pacers(tailnet(host));
    Tunnel.splice(socket, received, node, handoff.pending(), paced[0], paced[1]).onComplete(done -> {
      Tunnel.Stats stats = done.succeeded() ? done.result() : new Tunnel.Stats(0, 0);
      metrics.tunnelClosed(stats.aToB(), stats.bToA());
      access(Outcome.ROUTED, null, used, setupNanos, stats.aToB(), stats.bToA());
    });
  }

  // --- refusing -----------------------------------------------------------------------------------

  private void refuse(Throwable failure) {
    if (failure instanceof Refusal refusal) {
      refuse(refusal.alert, refusal.outcome, refusal.getMessage());
    } else {
      refuse(TlsAlert.INTERNAL_ERROR, Outcome.NODE_UNREACHABLE, "unexpected failure: " + failure);
    }
  }

  /** Sends a fatal alert, then closes once it is written. */
  private void refuse(TlsAlert alert, Outcome outcome, String reason) {
    Buffer record = alert.record();
    if (!finish(outcome, reason, "; rejecting with " + alert.name().toLowerCase(Locale.ROOT), record.length())) {
      return;
    }
    socket.write(record).onComplete(written -> socket.close());
  }

  /** Closes without a word (not TLS, or too slow to say anything). */
  private void close(Outcome outcome, String reason) {
    if (finish(outcome, reason, "; closing", 0)) {
      socket.close();
    }
  }

  /**
   * Marks the connection done, once: the metric, the one log line and the access-log line.
   * False if it already was.
   */
  private boolean finish(Outcome outcome, String reason, String action, int bytesOut) {
    if (state == State.DONE || state == State.SPLICED) {
      return false;
    }
    state = State.DONE;
    shared.vertx().cancelTimer(helloTimer);
    shared.metrics().connection(publicPort, outcome);
    LOG.log(INFO, "{0} on :{1}: {2}{3}", client, publicPort, reason, action);
    access(outcome, reason, route, -1, received.length(), bytesOut);
    return true;
  }

  private void onClosed() {
    if (state == State.READING || state == State.ROUTING) {
      String when = state == State.READING ? "before a whole ClientHello" : "while its route was opened";
      state = State.DONE;
      shared.vertx().cancelTimer(helloTimer);
      shared.metrics().connection(publicPort, Outcome.CLIENT_CLOSED);
      LOG.log(DEBUG, "{0} on :{1}: client closed {2}", client, publicPort, when);
      access(Outcome.CLIENT_CLOSED, "client closed " + when, route, -1, received.length(), 0);
    }
  }

  /**
   * The access log: one logfmt line per connection on logger {@code funnel.access} at INFO, routed
   * (when the tunnel ends) or refused (outcome = the refusal's metric label, reason = the log
   * line's words), unless {@link FrontendOptions#isAccessLog()} is off. {@code duration_ms} runs from
   * accept to the end; {@code setup_ms} from the whole hello to the node's stream ({@code -} when
   * refused); {@code bytes_in} is what the client sent (the hello included), {@code bytes_out} what
   * it received (an alert is 7 bytes).
   */
  private void access(Outcome outcome, String reason, Route used, long setupNanos, long bytesIn, long bytesOut) {
    if (!options.isAccessLog()) {
      return;
    }
    StringBuilder line = new StringBuilder(256)
        .append("time=").append(Instant.now())
        .append(" port=").append(publicPort)
        .append(" sni=").append(sni == null ? "-" : logfmt(sni))
        .append(" client=").append(client)
        .append(" node=").append(used == null ? "-" : logfmt(used.nodeId()))
        .append(" gateway=").append(used == null ? "-" : logfmt(used.gatewayId()))
        .append(" outcome=").append(outcome.tag())
        .append(" setup_ms=").append(setupNanos < 0 ? "-" : Long.toString(setupNanos / 1_000_000))
        .append(" bytes_in=").append(bytesIn)
        .append(" bytes_out=").append(bytesOut)
        .append(" duration_ms=").append((System.nanoTime() - acceptedNanos) / 1_000_000);
    if (reason != null) {
      line.append(" reason=").append(logfmt(reason));
    }
    ACCESS.log(INFO, line.toString());
  }

  /**
   * A logfmt value: as is when it is one plain printable-ASCII token, else double-quoted, with
   * quotes and backslashes escaped and anything outside printable ASCII written as a hex escape.
   */
  static String logfmt(String value) {
    boolean plain = !value.isEmpty();
    for (int i = 0; i < value.length() && plain; i++) {
      char c = value.charAt(i);
      plain = c > ' ' && c < 0x7f && c != '"' && c != '=' && c != '\\';
    }
    if (plain) {
      return value;
    }
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < ' ' || c >= 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  /** The TAILNET of a routable {@code NODE.TAILNET.DOMAIN} name. */
  private static String tailnet(String routableHost) {
    String[] labels = routableHost.split("\\.", 3);
    return labels.length > 1 ? labels[1] : routableHost;
  }

  private static String address(SocketAddress remote) {
    if (remote == null || remote.host() == null) {
      return "unknown";
    }
    return new HostPort(remote.host(), remote.port()).toString();
  }

  /** Why a connection is refused: the alert, the metric's outcome, the log line; cheap, never logged with a trace. */
  private static final class Refusal extends RuntimeException {
    final TlsAlert alert;
    final Outcome outcome;
    /** The route that led here may be stale: worth one fresh resolve. */
    final boolean staleRoute;

    Refusal(TlsAlert alert, Outcome outcome, String reason) {
      this(alert, outcome, reason, false);
    }

    Refusal(TlsAlert alert, Outcome outcome, String reason, boolean staleRoute) {
      super(reason, null, false, false);
      this.alert = alert;
      this.outcome = outcome;
      this.staleRoute = staleRoute;
    }
  }
}
