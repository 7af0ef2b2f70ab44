package dev.funnel.terminator;

import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * HTTP/1.1 upgrades (WebSocket, and any other {@code Connection: upgrade}) carried to the backend
 * and, once it answers {@code 101}, spliced both ways as raw bytes with back-pressure.
 *
 * <p>Why not vertx-http-proxy's own WebSocket support: in 5.0.10 its {@code ReverseProxy} wires the
 * two upgraded sockets with {@code handler(other::write)} (no back-pressure: a slow reader makes the
 * proxy buffer without limit) and only prints a stack trace to stderr when the client side cannot be
 * upgraded. Here the order is the one used for every tunnel: backend asked first, its socket paused;
 * then the client's {@code 101} and socket; close handlers cross-wired; {@code pipeTo} both ways.
 *
 * <p>Why {@code pipeTo} rather than {@code Tunnel.splice}: the backend side of an upgraded Vert.x
 * {@code HttpClient} exchange is an HTTP stream adapter, not a raw channel, so it cannot be
 * {@code Tunnel.prepare}d; and a WebSocket needs no TCP half-close (its closing handshake is in band).
 */
final class UpgradeRelay {

  private static final System.Logger LOG = System.getLogger(UpgradeRelay.class.getName());

  private final Vertx vertx;
  private final ServeTarget target;
  private final HttpClient client;
  private final long connectTimeoutMillis;
  private final long responseTimeoutMillis;
  private final OutageLog outages;

  UpgradeRelay(Vertx vertx, ServeTarget target, HttpClient client, long connectTimeoutMillis,
      long responseTimeoutMillis, OutageLog outages) {
    this.outages = outages;
    this.vertx = vertx;
    this.target = target;
    this.client = client;
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.responseTimeoutMillis = responseTimeoutMillis;
  }

  /** An HTTP/1.1 request asking to switch protocols ({@code Connection: upgrade} plus {@code Upgrade}). */
  static boolean isUpgrade(HttpServerRequest request) {
    if (request.version() != HttpVersion.HTTP_1_1) {
      return false;
    }
    String upgrade = request.getHeader(HttpHeaders.UPGRADE);
    if (upgrade == null || upgrade.isBlank()) {
      return false;
    }
    for (String value : request.headers().getAll(HttpHeaders.CONNECTION)) {
      for (String token : value.split(",")) {
        if (token.trim().toLowerCase(Locale.ROOT).equals("upgrade")) {
          return true;
        }
      }
    }
    return false;
  }

  /** Asks the backend to switch at {@code uri} (the path and query it is sent, prefix already replaced). */
  void relay(HttpServerRequest request, Exchange exchange, String uri) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(request.headers());
    headers.remove(HttpHeaders.HOST);
    ForwardedHeaders.stripForUpgrade(headers);
    headers.set(HttpHeaders.CONNECTION, "Upgrade");
    ForwardedHeaders.addForwarded(headers, HttpForwarder.clientIp(request), HttpForwarder.hostAsSent(request));
    RequestOptions options = new RequestOptions()
        .setMethod(request.method())
        .setHost(target.host())
        .setPort(target.port())
        .setURI(uri)
        .setHeaders(headers)
        .setConnectTimeout(connectTimeoutMillis);
    client.request(options)
        .compose(backendRequest -> {
          backendRequest.authority(request.authority());
          // After the 101 the request's connection is the spliced socket: its close would otherwise be
          // logged by Vert.x as an unhandled SEVERE "Connection was closed". Failures before the
          // answer come through connect()'s future.
          backendRequest.exceptionHandler(e -> LOG.log(Level.DEBUG, "upgrade to backend {0}: {1}", target,
              e.getMessage()));
          long timer = vertx.setTimer(responseTimeoutMillis,
              id -> backendRequest.reset(0, new TimeoutException("no answer to the upgrade")));
          return backendRequest.connect().andThen(ar -> vertx.cancelTimer(timer));
        })
        .onSuccess(response -> {
          outages.answered();
          if (response.statusCode() == 101) {
            switchProtocols(request, response, exchange);
          } else {
            passRefusal(request, response);
          }
        })
        .onFailure(failure -> {
          boolean timeout = HttpForwarder.isTimeout(failure);
          int status = timeout ? 504 : 502;
          outages.failed(timeout ? "no answer to an upgrade within " + responseTimeoutMillis + " ms"
              : OutageLog.reason(failure));
          HttpForwarder.plain(request.response(), status, timeout
              ? "504 Gateway Timeout: the service behind this address did not answer in time.\n"
              : "502 Bad Gateway: the service behind this address is not reachable.\n");
        });
  }

  /** The backend switched: give the client the same 101, then splice the two sockets. */
  private void switchProtocols(HttpServerRequest request, HttpClientResponse response, Exchange exchange) {
    NetSocket backend = response.netSocket();
    backend.pause();
    HttpServerResponse out = request.response();
    out.headers().addAll(response.headers());
    request.toNetSocket().onComplete(ar -> {
      if (ar.failed()) {
        LOG.log(Level.INFO, "upgrade: the client connection cannot switch protocols ({0}); closing",
            ar.cause().getMessage());
        backend.close();
        exchange.aborted();
        return;
      }
      exchange.done(101);
      splice(ar.result(), backend);
    });
  }

  /** Both directions with back-pressure; when either ends or fails, both sockets close. */
  static void splice(NetSocket client, NetSocket backend) {
    AtomicBoolean closed = new AtomicBoolean();
    Runnable closeBoth = () -> {
      if (closed.compareAndSet(false, true)) {
        client.close();
        backend.close();
      }
    };
    client.closeHandler(v -> closeBoth.run());
    backend.closeHandler(v -> closeBoth.run());
    client.pipeTo(backend).onComplete(ar -> closeBoth.run());
    backend.pipeTo(client).onComplete(ar -> closeBoth.run());
  }

  /** The backend did not switch: its answer goes to the client as an ordinary response, streamed. */
  private void passRefusal(HttpServerRequest request, HttpClientResponse response) {
    HttpServerResponse out = request.response();
    out.setStatusCode(response.statusCode());
    if (response.statusMessage() != null) {
      out.setStatusMessage(response.statusMessage());
    }
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(response.headers());
    ForwardedHeaders.rewriteResponse(headers);
    out.headers().addAll(headers);
    if (!headers.contains(HttpHeaders.CONTENT_LENGTH)) {
      out.setChunked(true);
    }
    response.pipeTo(out);
  }
}
