package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.TrustManagerFactory;

/**
 * The node's start-up check that {@code --ca} signed its gateways' certificates: a TLS handshake
 * with each gateway, on the engine the node's own connections use (OpenSSL when it loads). A
 * gateway that is not reachable is skipped (the node retries it); one whose certificate is not
 * signed by {@code --ca} fails at once, as retrying could never succeed.
 *
 * <p>Not the JDK's {@code SSLSocket}: that loaded the JDK's whole TLS stack (~440 classes the node
 * never uses again), ~2–3 MiB of an idle node's RSS (bench/README.md, "Footprint").
 */
final class GatewayProbe {

  /** How long the check waits for one gateway's handshake. */
  static final int TIMEOUT_MILLIS = 5000;

  /** A failed handshake is read from the handler's future: not logged again as an unhandled exception. */
  private static final ChannelHandler QUIET = new Quiet();

  private GatewayProbe() {
  }

  static void check(List<HostPort> gateways, Path ca) {
    SslContext context = context(ca);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      for (HostPort gateway : gateways) {
        Throwable failure = handshake(group, context, gateway);
        if (untrusted(failure)) {
          throw new Processes.Failure("--ca " + ca + ": the gateway's certificate at " + gateway
              + " is not signed by --ca " + ca + "; pass the ca.pem of the server this gateway belongs to", 1);
        }
        // Otherwise not reachable yet, or it wants something of us: the node itself finds out and retries.
      }
    } finally {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }
  }

  /** Null when the handshake succeeded, else why it did not. */
  private static Throwable handshake(EventLoopGroup group, SslContext context, HostPort gateway) {
    ChannelFuture connected = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, TIMEOUT_MILLIS)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(LinkTls.clientHandler(context, ch.alloc(), gateway.host(), gateway.port(), false,
                TIMEOUT_MILLIS));
            ch.pipeline().addLast(QUIET);
          }
        })
        .connect(gateway.host(), gateway.port());
    Channel channel = connected.channel();
    try {
      if (!connected.awaitUninterruptibly(TIMEOUT_MILLIS + 1000L) || !connected.isSuccess()) {
        return connected.cause();
      }
      Future<Channel> shaken = channel.pipeline().get(SslHandler.class).handshakeFuture();
      // The handler's own timeout ends the handshake; the extra second only covers its firing.
      shaken.awaitUninterruptibly(TIMEOUT_MILLIS + 1000L);
      return shaken.isSuccess() ? null : shaken.cause();
    } finally {
      channel.close().awaitUninterruptibly(1000);
    }
  }

  private static SslContext context(Path ca) {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      Collection<? extends Certificate> certs;
      try (InputStream in = Files.newInputStream(ca)) {
        certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      }
      int i = 0;
      for (Certificate cert : certs) {
        trust.setCertificateEntry("ca-" + i++, cert);
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(trust);
      // The chain only, as the node's own connections check it (a gateway is named by its address).
      return SslContextBuilder.forClient().sslProvider(LinkTls.provider()).endpointIdentificationAlgorithm(null)
          .trustManager(factory).build();
    } catch (CertificateException e) {
      throw new Processes.Failure("--ca " + ca + ": not a PEM certificate (" + e.getMessage() + "); "
          + Preflight.hint("--ca"), 2);
    } catch (Exception e) {
      throw new Processes.Failure("--ca " + ca + ": cannot use it (" + e.getMessage() + "); " + Preflight.hint("--ca"), 2);
    }
  }

  @ChannelHandler.Sharable
  private static final class Quiet extends ChannelInboundHandlerAdapter {
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  private static boolean untrusted(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CertPathValidatorException || t instanceof CertPathBuilderException) {
        return true;
      }
    }
    return false;
  }
}
