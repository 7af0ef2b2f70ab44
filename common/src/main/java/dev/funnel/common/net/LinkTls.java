package dev.funnel.common.net;

import dev.funnel.common.tls.NoClientCertificates;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.buffer.ByteBufAllocator;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * TLS contexts of the data plane's links (node ⇄ gateway, frontend ⇄ gateway), built from the same
 * Vert.x key and trust options the control plane uses: TLS 1.3 only, on the engine
 * {@link DataLegTls} picks (OpenSSL when it loads). Made once per listener or dialler, never per
 * connection.
 */
public final class LinkTls {

  private LinkTls() {
  }

  /** The engine of this process's links: {@link DataLegTls}'s choice. */
  public static SslProvider provider() {
    return DataLegTls.usesOpenSsl() ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  /**
   * A server context with {@code keyCert}; with {@code clientTrust} non-null, a client certificate
   * signed by it is required (mutual TLS).
   */
  public static SslContext server(Vertx vertx, KeyCertOptions keyCert, TrustOptions clientTrust) throws Exception {
    SslContextBuilder builder = SslContextBuilder.forServer(keyCert.getKeyManagerFactory(vertx))
        .sslProvider(provider())
        .protocols("TLSv1.3");
    if (clientTrust != null) {
      builder.trustManager(clientTrust.getTrustManagerFactory(vertx)).clientAuth(ClientAuth.REQUIRE);
    } else {
      // Without one, Netty's OpenSSL context would load and keep the JDK's default trust store.
      builder.trustManager(NoClientCertificates.INSTANCE);
    }
    return builder.build();
  }

  /**
   * A client context trusting {@code trust}; with {@code keyCert} non-null it presents that
   * certificate. The chain is always checked; whether the certificate must also name the host is
   * the handler's choice ({@link #clientHandler}): Netty 4.2 would check it by default, so the
   * context turns that off.
   */
  public static SslContext client(Vertx vertx, TrustOptions trust, KeyCertOptions keyCert) throws Exception {
    SslContextBuilder builder = SslContextBuilder.forClient()
        .sslProvider(provider())
        .protocols("TLSv1.3")
        .endpointIdentificationAlgorithm(null)
        .trustManager(trust.getTrustManagerFactory(vertx));
    if (keyCert != null) {
      builder.keyManager(keyCert.getKeyManagerFactory(vertx));
    }
    return builder.build();
  }

  /**
   * A client handler for {@code host:port}: SNI when the host is a name, and, when
   * {@code verifyHost}, the server's certificate must name the host (as HTTPS checks it).
   */
  public static SslHandler clientHandler(SslContext context, ByteBufAllocator alloc, String host, int port,
                                         boolean verifyHost, long handshakeTimeoutMillis) {
    SslHandler handler = context.newHandler(alloc, host, port);
    if (verifyHost) {
      SSLEngine engine = handler.engine();
      SSLParameters parameters = engine.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      engine.setSSLParameters(parameters);
    }
    handler.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
    return handler;
  }

  /** A server handler with the given handshake bound. */
  public static SslHandler serverHandler(SslContext context, ByteBufAllocator alloc, long handshakeTimeoutMillis) {
    SslHandler handler = context.newHandler(alloc);
    handler.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
    return handler;
  }

  /** Whether {@code err} (from a handshake) says the peer's certificate was not trusted. */
  public static boolean isCertificateProblem(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof SSLException && String.valueOf(t.getMessage()).toLowerCase().contains("certif")) {
        return true;
      }
    }
    return false;
  }
}
