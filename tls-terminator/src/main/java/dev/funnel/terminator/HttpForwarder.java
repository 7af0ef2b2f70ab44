package dev.funnel.terminator;

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

  HttpForwarder(Vertx vertx, int publicPort, String routePath, ServeTarget target, HttpClient client,
      TerminatorOptions options) {
    this.vertx = vertx;
    this.publicPort = publicPort;
    this.routePath = routePath;
    this.target = target;
    this.connectTimeoutMillis = options.getBackendConnectTimeoutMillis();
    this.responseTimeoutMillis = options.getBackendResponseTimeoutMillis();
    this.maxHttp10BufferBytes = options.getMaxHttp10BufferBytes();
    this.client = client;
    this.upgrades = new UpgradeRelay(vertx, target, client, connectTimeoutMillis, responseTimeoutMillis);
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
    String uri = backendPath(ctx);
    // One proxy per request: its interceptor knows this request's backend URI and buffered body.
    // WebSocket support off: its branch in vertx-http-proxy 5.0.10 copies without back-pressure
    // (see UpgradeRelay); upgrades never reach the proxy.
    HttpProxy.reverseProxy(new ProxyOptions().setSupportWebSocket(false), client)
        .origin(this::originRequest)
        .addInterceptor(new Forwarding(uri, buffered))
        .handle(buffered != null ? new ReadRequest(request) : request);
  }

  /** Path and query for the backend: the route's prefix replaced by the target's path ({@link RoutePaths}). */
  String backendPath(RoutingContext ctx) {
    String pathAndQuery = pathAndQuery(ctx.request());
    if (routePath.equals("/")) {
      return ForwardedHeaders.joinPath(target.path(), pathAndQuery);
    }
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    String query = q < 0 ? "" : pathAndQuery.substring(q);
    // The route was chosen on the normalized path; strip the prefix from the path as sent when it
    // starts with it, else from the normalized one (e.g. /x/../api/y).
    String rest = RoutePaths.matches(routePath, path) ? RoutePaths.rest(routePath, path)
        : RoutePaths.matches(routePath, ctx.normalizedPath()) ? RoutePaths.rest(routePath, ctx.normalizedPath()) : path;
    String joined = rest.isEmpty() ? target.path() : ForwardedHeaders.joinPath(target.path(), rest);
    return joined + query;
  }

  /** The backend request for one proxied exchange; kept in the context so the response timer can find it. */
  private Future<HttpClientRequest> originRequest(ProxyContext context) {
    RequestOptions options = new RequestOptions()
        .setHost(target.host())
        .setPort(target.port())
        .setConnectTimeout(connectTimeoutMillis);
    return client.request(options).onSuccess(request -> context.set(ORIGIN_REQUEST, request));
  }

  /** Header rewriting, path prefix, response timeout and failure pages, around vertx-http-proxy's exchange. */
  private final class Forwarding implements ProxyInterceptor {

    private final String uri;
    private final Buffer buffered;

    Forwarding(String uri, Buffer buffered) {
      this.uri = uri;
      this.buffered = buffered;
    }

    @Override
    public Future<ProxyResponse> handleProxyRequest(ProxyContext context) {
      ProxyRequest request = context.request();
      HttpServerRequest incoming = request.proxiedRequest();
      ForwardedHeaders.rewriteRequest(request.headers(), incoming.version() == HttpVersion.HTTP_2,
          clientIp(incoming), hostAsSent(incoming));
      // Keep the Host exactly: without an explicit authority the client would write the backend's address.
      request.setAuthority(incoming.authority());
      request.setURI(uri);
      if (buffered != null) {
        request.setBody(Body.body(buffered));
      }
      Body body = request.getBody();
      if (body != null) {
        // The backend's silence is bounded from the moment the whole request has been handed to it.
        request.setBody(Body.body(ObservedStream.onEnd(body.stream(), () -> armResponseTimeout(context)),
            body.length(), body.mediaType()));
      }
      return context.sendRequest().recover(failure -> Future.succeededFuture(failurePage(context, failure)));
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

  private ProxyResponse failurePage(ProxyContext context, Throwable failure) {
    boolean timeout = isTimeout(failure);
    int status = timeout ? 504 : 502;
    LOG.log(Level.WARNING, "port {0}: backend {1} {2}; answering {3}", String.valueOf(publicPort), target,
        timeout ? "did not answer within " + responseTimeoutMillis + " ms" : "failed: " + failure.getMessage(),
        String.valueOf(status));
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
