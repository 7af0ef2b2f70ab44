package dev.funnel.terminator;

import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The terminator's listener options: PROXY protocol, TLS with the node's certificate, every wait bounded. */
final class ListenerOptions {

  private static final List<String> ALPN = List.of("h2", "http/1.1");

  private ListenerOptions() {
  }

  /**
   * An HTTP port: ALPN {@code h2}, {@code http/1.1}; HTTP/2 windows from the options; no compression
   * either way; 100-continue answered. No WebSocket extensions either: the terminator relays an
   * upgrade to the backend and never speaks WebSocket itself, so compression is the client's and the
   * backend's to agree on, and Vert.x's extension handler would only inspect every request and
   * response of every connection (profiled under keep-alive HTTPS load).
   */
  static HttpServerOptions http(TerminatorOptions options, int listenPort, SSLEngineOptions engine, KeyCertOptions keyCert) {
    HttpServerOptions http = new HttpServerOptions()
        .setHost(options.getBindHost())
        .setPort(listenPort)
        .setUseProxyProtocol(true)
        .setProxyProtocolTimeout(options.getProxyHeaderTimeoutMillis())
        .setProxyProtocolTimeoutUnit(TimeUnit.MILLISECONDS)
        .setIdleTimeout(options.getIdleTimeoutSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setHandle100ContinueAutomatically(true)
        .setCompressionSupported(false)
        .setDecompressionSupported(false)
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        .setSsl(true)
        .setSslEngineOptions(engine)
        .setUseAlpn(true)
        .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
        .setHttp2ConnectionWindowSize(options.getHttp2ConnectionWindowBytes())
        .setKeyCertOptions(keyCert)
        .setSslHandshakeTimeout(options.getTlsHandshakeTimeoutMillis())
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
    // Vert.x's default settings (100 concurrent streams) with a larger stream window.
    http.getInitialSettings().setInitialWindowSize(options.getHttp2StreamWindowBytes());
    return http;
  }

  /** A {@code tls-terminated-tcp://} port. */
  static NetServerOptions tcp(TerminatorOptions options, int listenPort, SSLEngineOptions engine, KeyCertOptions keyCert) {
    return new NetServerOptions()
        .setHost(options.getBindHost())
        .setPort(listenPort)
        .setUseProxyProtocol(true)
        .setProxyProtocolTimeout(options.getProxyHeaderTimeoutMillis())
        .setProxyProtocolTimeoutUnit(TimeUnit.MILLISECONDS)
        .setIdleTimeout(options.getIdleTimeoutSeconds())
        .setIdleTimeoutUnit(TimeUnit.SECONDS)
        .setSsl(true)
        .setSslEngineOptions(engine)
        .setKeyCertOptions(keyCert)
        .setSslHandshakeTimeout(options.getTlsHandshakeTimeoutMillis())
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
  }

  /** What a certificate swap ({@code updateSSLOptions}) gives a running listener. */
  static ServerSSLOptions ssl(TerminatorOptions options, KeyCertOptions keyCert, boolean http) {
    ServerSSLOptions ssl = new ServerSSLOptions()
        .setKeyCertOptions(keyCert)
        .setSslHandshakeTimeout(options.getTlsHandshakeTimeoutMillis())
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS);
    if (http) {
      ssl.setUseAlpn(true).setApplicationLayerProtocols(ALPN);
    }
    return ssl;
  }
}
