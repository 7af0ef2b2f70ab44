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
import io.vertx.core.http.HttpMethod;
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
import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The request handler of one public port whose target is {@code http://} or {@code https+insecure://}:
 * a guard ladder (authority, method), then WebSocket and other upgrades to {@link UpgradeRelay},
 * everything else to vertx-http-proxy with one interceptor that rewrites the forwarding headers,
 * keeps the Host and the path, bounds the backend's silence and turns backend failures into short
 * {@code 502}/{@code 504} pages.
 */
final class HttpForwarder implements Handler<HttpServerRequest> {

  private static final System.Logger LOG = System.getLogger(HttpForwarder.class.getName());
  private static final String ORIGIN_REQUEST = "funnel.origin-request";
  private static final AtomicBoolean WARNED_LOST_CLIENT = new AtomicBoolean();

  private final Vertx vertx;
  private final int publicPort;
  private final ServeTarget target;
  private final Set<String> serverNames;
  private final long connectTimeoutMillis;
  private final long responseTimeoutMillis;
  private final int maxHttp10BufferBytes;
  private final TerminatorMetrics metrics;
  private final HttpClient client;
  private final HttpProxy proxy;
  private final UpgradeRelay upgrades;

  HttpForwarder(Vertx vertx, int publicPort, ServeTarget target, TerminatorOptions options, TerminatorMetrics metrics) {
    this.vertx = vertx;
    this.publicPort = publicPort;
    this.target = target;
    this.serverNames = Set.copyOf(options.getServerNames());
    this.connectTimeoutMillis = options.getBackendConnectTimeoutMillis();
    this.responseTimeoutMillis = options.getBackendResponseTimeoutMillis();
    this.maxHttp10BufferBytes = options.getMaxHttp10BufferBytes();
    this.metrics = metrics;
    metrics.httpPort(publicPort);
    boolean tls = target.kind() == ServeTarget.Kind.HTTPS_INSECURE;
    HttpClientOptions clientOptions = new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_1_1)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeoutMillis))
        .setKeepAlive(true)
        .setDecompressionSupported(false)
        .setSsl(tls);
    if (tls) {
      // https+insecure: the local backend's certificate is not checked (it is usually self-signed).
      clientOptions.setTrustAll(true).setVerifyHost(false);
    }
    this.client = vertx.httpClientBuilder()
        .with(clientOptions)
        .with(new PoolOptions().setHttp1MaxSize(options.getMaxBackendConnections()))
        .build();
    // WebSocket support off: its branch in vertx-http-proxy 5.0.10 copies without back-pressure
    // (see UpgradeRelay); upgrades never reach the proxy.
    this.proxy = HttpProxy.reverseProxy(new ProxyOptions().setSupportWebSocket(false), client)
        .origin(this::originRequest)
        .addInterceptor(new Forwarding());
    this.upgrades = new UpgradeRelay(vertx, target, client, connectTimeoutMillis, responseTimeoutMillis);
  }

  HttpClient client() {
    return client;
  }

  @Override
  public void handle(HttpServerRequest request) {
    Exchange exchange = Exchange.track(request, metrics, publicPort);
    ForwardedHeaders.stripIdentity(request.headers());
    HostAndPort authority = request.authority();
    if (authority == null || authority.host() == null || authority.host().isEmpty()) {
      LOG.log(Level.INFO, "port {0}: request without Host or :authority; rejecting", String.valueOf(publicPort));
      plain(request.response(), 400, "400 Bad Request: the request names no host.\n");
      return;
    }
    String host = ForwardedHeaders.authorityHost(authority.host());
    if (!serverNames.contains(host)) {
      LOG.log(Level.INFO, "port {0}: request for {1}, which is not this node''s name; rejecting with 421",
          String.valueOf(publicPort), host);
      plain(request.response(), 421, "421 Misdirected Request: this connection does not serve that host.\n");
      return;
    }
    if (request.method() == HttpMethod.CONNECT) {
      LOG.log(Level.INFO, "port {0}: CONNECT request; rejecting", String.valueOf(publicPort));
      plain(request.response(), 405, "405 Method Not Allowed: this is not a forward proxy.\n");
      return;
    }
    if (UpgradeRelay.isUpgrade(request)) {
      upgrades.relay(request, exchange);
      return;
    }
    proxy.handle(request);
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

    @Override
    public Future<ProxyResponse> handleProxyRequest(ProxyContext context) {
      ProxyRequest request = context.request();
      HttpServerRequest incoming = request.proxiedRequest();
      ForwardedHeaders.rewriteRequest(request.headers(), incoming.version() == HttpVersion.HTTP_2,
          clientIp(incoming), hostAsSent(incoming));
      // Keep the Host exactly: without an explicit authority the client would write the backend's address.
      request.setAuthority(incoming.authority());
      request.setURI(ForwardedHeaders.joinPath(target.path(), pathAndQuery(incoming)));
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

  /**
   * The public client's IP, which Vert.x took from the PROXY header; {@code "unknown"} when that
   * address was lost. It is lost in Vert.x 5.0.10 when the Vertx instance has HTTP-server metrics on
   * (see {@code FunnelVertx.nodeOptions()}): the request then reports the node agent's own loopback
   * connection, which must never be passed off as the client.
   */
  static String clientIp(HttpServerRequest request) {
    SocketAddress remote = request.remoteAddress();
    if (remote == null || remote.equals(request.connection().remoteAddress(true))) {
      if (WARNED_LOST_CLIENT.compareAndSet(false, true)) {
        LOG.log(Level.WARNING, "the PROXY header's client address is not visible to HTTP requests "
            + "(Vert.x HTTP-server metrics are on; build the node's Vertx with FunnelVertx.nodeOptions()); "
            + "forwarding the client as \"unknown\"");
      }
      return "unknown";
    }
    String ip = remote.hostAddress();
    return ip == null || ip.isEmpty() ? "unknown" : ip;
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
