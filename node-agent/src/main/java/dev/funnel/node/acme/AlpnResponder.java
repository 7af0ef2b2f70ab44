package dev.funnel.node.acme;

import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.HostPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * Answers the ACME CA's tls-alpn-01 validation (RFC 8737): a TLS server on a loopback port that
 * negotiates only {@code acme-tls/1} and presents the challenge certificate acme4j made (the node's
 * name, with the critical acmeIdentifier extension). The node agent sends it the connections whose
 * ClientHello offers only {@code acme-tls/1}, while an order of this node waits for that challenge;
 * everything else goes where it always goes. It completes the handshake and closes, as the RFC
 * expects; it never reads application data. Netty (JDK TLS, which does ALPN on Java 9+), on the
 * data plane's loops.
 */
public final class AlpnResponder {

  public static final String ACME_TLS_1 = "acme-tls/1";
  static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;

  private final Channel server;

  private AlpnResponder(Channel server) {
    this.server = server;
  }

  /** Binds 127.0.0.1:0 serving {@code cert} with {@code key}. Blocking (call it off the event loop). */
  public static AlpnResponder start(KeyPair key, X509Certificate cert) throws SSLException, InterruptedException {
    SslContext context = SslContextBuilder.forServer(key.getPrivate(), cert)
        .sslProvider(SslProvider.JDK)
        .protocols("TLSv1.3", "TLSv1.2")
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.FATAL_ALERT,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.FATAL_ALERT, ACME_TLS_1))
        .build();
    Channel server = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel channel) {
            SslHandler tls = context.newHandler(channel.alloc());
            tls.setHandshakeTimeout(HANDSHAKE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            channel.pipeline().addLast(tls, new ChannelInboundHandlerAdapter() {
              @Override
              public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                if (event instanceof SslHandshakeCompletionEvent) {
                  // Done either way: the CA has seen the certificate (or the handshake failed).
                  tls.closeOutbound().addListener(closed -> ctx.close());
                  return;
                }
                ctx.fireUserEventTriggered(event);
              }

              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
              }
            });
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0))
        .sync()
        .channel();
    return new AlpnResponder(server);
  }

  public HostPort address() {
    InetSocketAddress bound = (InetSocketAddress) server.localAddress();
    return new HostPort(bound.getAddress().getHostAddress(), bound.getPort());
  }

  public void close() {
    server.close();
  }
}
