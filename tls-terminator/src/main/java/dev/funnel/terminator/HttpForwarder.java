package dev.funnel.terminator;

import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import io.vertx.httpproxy.Body;
import io.vertx.httpproxy.HttpProxy;
import io.vertx.httpproxy.MediaType;
import io.vertx.httpproxy.ProxyContext;
import io.vertx.httpproxy.ProxyInterceptor;
import io.vertx.httpproxy.ProxyOptions;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;
import dev.funnel.common.serve.RoutePaths;
import dev.funnel.terminator.gate.ClientAddress;
import dev.funnel.terminator.gate.GateBody;
import dev.funnel.terminator.gate.GateChain;
import io.vertx.ext.web.RoutingContext;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeoutException;

/**
 * The target handler of a route whose target is {@code http://} or {@code https+insecure://}:
 * WebSocket and other upgrades go to {@link UpgradeRelay}, everything else to vertx-http-proxy with
 * one interceptor that rewrites the forwarding headers, keeps the Host, replaces the route's prefix
 * with the target's path, bounds the backend's silence and turns backend failures into short
 * {@code 502}/{@code 504} pages. The guard ladder ({@link PortGuard}) and the route's gates ran before.
 * When a gate read the body whole ({@link GateChain#BUFFERED_BODY}), those bytes are sent instead of
 * the request stream.
 */
final class HttpForwarder implements Handler<RoutingContext> {

  private static final System.Logger LOG = System.getLogger(HttpForwarder.class.getName());
  private static final String ORIGIN_REQUEST = "funnel.origin-request";

  private final Vertx vertx;
  private final int publicPort;
  private final String routePath;
  private final ServeTarget target;
  private final long connectTimeoutMillis;
  private final long responseTimeoutMillis;
  private final int maxHttp10BufferBytes;
  private final HttpClient client;
  private final UpgradeRelay upgrades;
  /** The backend's outages in the log (one WARNING when it stops answering, one INFO when it answers again), shared by the event loops. */
  private final OutageLog outages;
  /** The proxy of every request whose backend URI follows from the request alone and whose body is streamed. */
  private final HttpProxy proxy;

  HttpForwarder(Vertx vertx, int publicPort, String routePath, ServeTarget target, HttpClient client,
      TerminatorOptions options, OutageLog outages) {
    this.vertx = vertx;
    this.publicPort = publicPort;
    this.routePath = routePath;
    this.target = target;
    this.connectTimeoutMillis = options.getBackendConnectTimeoutMillis();
    this.responseTimeoutMillis = options.getBackendResponseTimeoutMillis();
    this.maxHttp10BufferBytes = options.getMaxHttp10BufferBytes();
    this.client = client;
    this.outages = outages;
    this.upgrades = new UpgradeRelay(vertx, target, client, connectTimeoutMillis, responseTimeoutMillis, outages);
    this.proxy = newProxy(new Forwarding(null, null, null));
  }

  /** The backend client for {@code target} (one per target and event loop, shared by the routes that name it). */
  static HttpClient newClient(Vertx vertx, ServeTarget target, TerminatorOptions options) {
    boolean tls = target.kind() == ServeTarget.Kind.HTTPS_INSECURE;
    HttpClientOptions clientOptions = new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_1_1)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, options.getBackendConnectTimeoutMillis()))
        .setKeepAlive(true)
        .setDecompressionSupported(false)
        .setSsl(tls);
    if (tls) {
      // https+insecure: the local backend's certificate is not checked (it is usually self-signed).
      clientOptions.setTrustAll(true).setVerifyHost(false);
    }
    return vertx.httpClientBuilder()
        .with(clientOptions)
        .with(new PoolOptions().setHttp1MaxSize(options.getMaxBackendConnections()))
        .build();
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (UpgradeRelay.isUpgrade(request)) {
      if (!request.isEnded()) {
        request.resume();   // as it arrived: the relay takes the raw socket once the backend switched
      }
      upgrades.relay(request, ctx.get(PortGuard.EXCHANGE), backendPath(ctx));
      return;
    }
    Buffer buffered = ctx.get(GateChain.BUFFERED_BODY);
    GateBody.Limit limit = buffered == null ? GateBody.limit(ctx).orElse(null) : null;
    if (buffered == null && limit == null && backendPath(pathAndQuery(request), null) != null) {
      // The common case: the backend URI follows from the request alone, so the port's one proxy serves it.
      proxy.handle(request);
      return;
    }
    // Otherwise one proxy for this request: its interceptor carries the URI, the buffered body or
    // the cap on a streamed one.
    newProxy(new Forwarding(backendPath(ctx), buffered, limit))
        .handle(buffered != null ? new ReadRequest(request) : request);
  }

  /**
   * WebSocket support off: its branch in vertx-http-proxy 5.0.10 copies without back-pressure (see
   * UpgradeRelay); upgrades never reach the proxy.
   */
  private HttpProxy newProxy(Forwarding forwarding) {
    return HttpProxy.reverseProxy(new ProxyOptions().setSupportWebSocket(false), client)
        .origin(this::originRequest)
        .addInterceptor(forwarding);
  }

  /** Path and query for the backend: the route's prefix replaced by the target's path ({@link RoutePaths}). */
  String backendPath(RoutingContext ctx) {
    return backendPath(pathAndQuery(ctx.request()), ctx.normalizedPath());
  }

  /**
   * Path and query for the backend from the request's own {@code pathAndQuery}; the route was chosen
   * on the normalized path, so when the path as sent does not start with the prefix (e.g.
   * {@code /x/../api/y}) the prefix is taken off {@code normalizedPath}, or, when that is null, the
   * answer is null.
   */
  String backendPath(String pathAndQuery, String normalizedPath) {
    if (routePath.equals("/")) {
      return ForwardedHeaders.joinPath(target.path(), pathAndQuery);
    }
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    String query = q < 0 ? "" : pathAndQuery.substring(q);
    String rest;
    if (RoutePaths.matches(routePath, path)) {
      rest = RoutePaths.rest(routePath, path);
    } else if (normalizedPath == null) {
      return null;
    } else {
      rest = RoutePaths.matches(routePath, normalizedPath) ? RoutePaths.rest(routePath, normalizedPath) : path;
    }
    String joined = rest.isEmpty() ? target.path() : ForwardedHeaders.joinPath(target.path(), rest);
    return joined + query;
  }

  /** The backend request for one proxied exchange; kept in the context so the response timer can find it. */
  private Future<HttpClientRequest> originRequest(ProxyContext context) {
    RequestOptions options = new RequestOptions()
        .setHost(target.host())
        .setPort(target.port())
        .setConnectTimeout(connectTimeoutMillis);
    return client.request(options).onSuccess(request -> {
      context.set(ORIGIN_REQUEST, request);
      // Its failures reach the exchange through the proxy's futures (the 502, 504 and 413 pages, the
      // outage log). Without a handler Vert.x would also log each at ERROR: the reset of a body over
      // --max-body, say, a line any client could cause, outside the port's log budget.
      request.exceptionHandler(err -> LOG.log(Level.DEBUG, () -> "port " + publicPort + ": request to " + target
          + " ended: " + err));
    });
  }

  /** Header rewriting, path prefix, response timeout and failure pages, around vertx-http-proxy's exchange. */
  private final class Forwarding implements ProxyInterceptor {

    /** The backend URI, or null: computed from the request (the shared proxy). */
    private final String uri;
    private final Buffer buffered;
    private final GateBody.Limit limit;
    /** The streamed body went over {@link #limit} (set on the request's event loop, read there too). */
    private boolean overflowed;

    Forwarding(String uri, Buffer buffered, GateBody.Limit limit) {
      this.uri = uri;
      this.buffered = buffered;
      this.limit = limit;
    }

    @Override
    public Future<ProxyResponse> handleProxyRequest(ProxyContext context) {
      ProxyRequest request = context.request();
      HttpServerRequest incoming = request.proxiedRequest();
      ForwardedHeaders.rewriteRequest(request.headers(), incoming.version() == HttpVersion.HTTP_2,
          clientIp(incoming), hostAsSent(incoming));
      // Keep the Host exactly: without an explicit authority the client would write the backend's address.
      request.setAuthority(incoming.authority());
      request.setURI(uri != null ? uri : backendPath(pathAndQuery(incoming), null));
      if (buffered != null) {
        request.setBody(Body.body(buffered));
      }
      Body body = request.getBody();
      if (body != null && body.length() < 0 && incoming.version() == HttpVersion.HTTP_2
          && !incoming.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
        // vertx-http-proxy 5.0.10 (ProxiedRequest.sendRequest) chunks a body of unknown length only
        // when the incoming request says "Transfer-Encoding: chunked", which HTTP/2 never does: the
        // backend request then had neither a length nor chunking and reached the backend empty.
        // Only the incoming request's headers are read there; the backend's come from the proxy request.
        incoming.headers().add(HttpHeaders.TRANSFER_ENCODING, "chunked");
      }
      if (body != null && limit != null && body.length() < 0) {
        // --max-body on a body without a length: counted as it streams (the gate checked Content-Length).
        body = Body.body(ObservedStream.capped(body.stream(), limit.bytes(), () -> overflowed = true), -1,
            body.mediaType());
      }
      if (body != null) {
        // The backend's silence is bounded from the moment the whole request has been handed to it.
        request.setBody(Body.body(ObservedStream.onEnd(body.stream(), () -> armResponseTimeout(context)),
            body.length(), body.mediaType()));
      }
      return context.sendRequest()
          .andThen(sent -> {
            if (sent.succeeded()) {
              outages.answered();
            }
          })
          .recover(failure -> Future.succeededFuture(overflowed || tooLarge(failure)
              ? tooLargePage(context, limit) : failurePage(context, failure)));
    }

    @Override
    public Future<Void> handleProxyResponse(ProxyContext context) {
      ProxyResponse response = context.response();
      ForwardedHeaders.rewriteResponse(response.headers());
      Body body = response.getBody();
      if (body != null && body.length() < 0 && context.request().version() == HttpVersion.HTTP_1_0) {
        // vertx-http-proxy buffers this case whole (HTTP/1.0 has no chunking): cap it.
        response.setBody(Body.body(ObservedStream.capped(body.stream(), maxHttp10BufferBytes), -1,
            body.mediaType()));
      }
      return context.sendResponse();
    }
  }

  private void armResponseTimeout(ProxyContext context) {
    HttpClientRequest origin = context.get(ORIGIN_REQUEST, HttpClientRequest.class);
    if (origin != null && responseTimeoutMillis > 0) {
      origin.idleTimeout(responseTimeoutMillis);
    }
  }

  private static boolean tooLarge(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ObservedStream.TooLarge) {
        return true;
      }
    }
    return false;
  }

  /** A request body went over the route's {@code --max-body} while streaming: 413, counted by the gate. */
  private ProxyResponse tooLargePage(ProxyContext context, GateBody.Limit limit) {
    if (limit != null) {
      limit.onOverflow().run();
    }
    return context.request().release().response()
        .setStatusCode(413)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .putHeader(HttpHeaders.CONNECTION, "close")
        .setBody(Body.body(Buffer.buffer("413 Content Too Large: the body may be at most "
            + (limit == null ? "?" : limit.bytes()) + " bytes\n"), MediaType.TEXT_PLAIN));
  }

  private ProxyResponse failurePage(ProxyContext context, Throwable failure) {
    boolean timeout = isTimeout(failure);
    int status = timeout ? 504 : 502;
    if (context.request().proxiedRequest().response().closed()) {
      // The client left (a reset, a closed connection) before the backend answered: not the backend's outage.
      LOG.log(Level.DEBUG, () -> "port " + publicPort + ": client gone before " + target + " answered: " + failure);
    } else {
      outages.failed(timeout ? "no answer within " + responseTimeoutMillis + " ms" : OutageLog.reason(failure));
    }
    String text = timeout
        ? "504 Gateway Timeout: the service behind this address did not answer in time.\n"
        : "502 Bad Gateway: the service behind this address is not reachable.\n";
    return context.request().release().response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .setBody(Body.body(Buffer.buffer(text), MediaType.TEXT_PLAIN));
  }

  static boolean isTimeout(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException) {
        return true;
      }
    }
    return false;
  }

  /** The public client's IP from the PROXY header ({@link ClientAddress}), or {@code "unknown"} when it was lost. */
  static String clientIp(HttpServerRequest request) {
    return ClientAddress.of(request).map(SocketAddress::hostAddress).orElse("unknown");
  }

  /** The Host header as the client wrote it (HTTP/1.x), or the {@code :authority} (HTTP/2). */
  static String hostAsSent(HttpServerRequest request) {
    String host = request.version() == HttpVersion.HTTP_2 ? null : request.getHeader(HttpHeaders.HOST);
    if (host != null) {
      return host;
    }
    HostAndPort authority = request.authority();
    return authority == null ? null : authority.toString();
  }

  /** The origin-form request target: the URI as received, or path and query of an absolute-form one. */
  static String pathAndQuery(HttpServerRequest request) {
    String uri = request.uri();
    if (uri.startsWith("/") || uri.equals("*")) {
      return uri;
    }
    String path = request.path();
    String query = request.query();
    return (path == null || path.isEmpty() ? "/" : path) + (query == null ? "" : "?" + query);
  }

  static void plain(HttpServerResponse response, int status, String text) {
    response.setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(text);
  }
}
