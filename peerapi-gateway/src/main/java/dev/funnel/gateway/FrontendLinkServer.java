package dev.funnel.gateway;

import dev.funnel.common.net.LinkStreams;

import dev.funnel.common.net.DataPlaneListener;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.OpenStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.vertx.core.Future;
import java.lang.System.Logger.Level;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Where frontends in other processes open tunnels: HTTP/2 over mutually authenticated TLS (both
 * certificates from the cluster's CA), this gateway the server. Each stream is one open
 * ({@link dev.funnel.common.peerapi.OpenStream}): the node's stream is opened through the
 * {@link TunnelOpener}, the frontend hears {@code 200} (or the coded refusal), and the two streams
 * are relayed frame by frame ({@link FrameSplice}, no child channel per stream). A frontend learns a
 * dead gateway from its closed connections, at once.
 */
final class FrontendLinkServer {

  private static final System.Logger LOG = System.getLogger(FrontendLinkServer.class.getName());

  private final GatewayOptions options;
  private final SslContext tls;
  private final TunnelOpener opener;
  private final GatewayMetrics metrics;
  private DataPlaneListener server;

  FrontendLinkServer(GatewayOptions options, SslContext tls, TunnelOpener opener, GatewayMetrics metrics) {
    this.options = options;
    this.tls = tls;
    this.opener = opener;
    this.metrics = metrics;
  }

  Future<Integer> bind() {
    return DataPlaneListener.bind(options.getLinkListen(), new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast(LinkTls.serverHandler(tls, ch.alloc(), options.getLoginTimeoutMillis()));
        ch.pipeline().addLast(new OnlyFrontends());
        ch.pipeline().addLast(Links.FLUSH, Links.flushConsolidation());
        ch.pipeline().addLast(Links.KEEPALIVE, Links.keepalive(options.getPingIntervalMillis(),
            options.getDeadAfterMillis(), () -> { }));
        ch.pipeline().addLast(Links.CODEC, Links.serverCodec(Links.settings(options.getStreamWindowBytes(),
            Links.DEFAULT_MAX_CONCURRENT_STREAMS)));
        LinkStreams[] streams = new LinkStreams[1];
        streams[0] = new LinkStreams((front, head) -> FrameSplice.opened(streams[0], front, head, opener, metrics));
        ch.pipeline().addLast(LinkStreams.NAME, streams[0]);
      }
    }).map(listener -> {
      server = listener;
      return listener.port();
    });
  }

  Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  /**
   * The name a frontend's link certificate carries: {@code frontend.ID.funnel.internal}. The cluster's
   * CA signs nodes' certificates too (for their own public name only), so a chain to the CA is not
   * enough: only a certificate that names a frontend may open tunnels here.
   */
  static boolean namesAFrontend(Certificate certificate) {
    if (!(certificate instanceof X509Certificate x509)) {
      return false;
    }
    try {
      Collection<List<?>> names = x509.getSubjectAlternativeNames();
      if (names == null) {
        return false;
      }
      for (List<?> name : names) {
        if (name.size() >= 2 && Integer.valueOf(2).equals(name.get(0)) && name.get(1) instanceof String dns) {
          String lower = dns.toLowerCase(Locale.ROOT);
          if (lower.startsWith("frontend.") && lower.endsWith(".funnel.internal")
              && lower.length() > "frontend..funnel.internal".length()) {
            return true;
          }
        }
      }
    } catch (CertificateParsingException e) {
      return false;
    }
    return false;
  }

  /** After the handshake: a peer whose certificate does not name a frontend is closed, one log line. */
  private static final class OnlyFrontends extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
        Certificate[] chain = ctx.pipeline().get(SslHandler.class).engine().getSession().getPeerCertificates();
        if (chain.length == 0 || !namesAFrontend(chain[0])) {
          LOG.log(Level.INFO, "link connection from " + ctx.channel().remoteAddress()
              + " presents a certificate that names no frontend (frontend.ID.funnel.internal); rejecting");
          ctx.close();
          return;
        }
        ctx.pipeline().remove(this);
      }
      ctx.fireUserEventTriggered(evt);
    }
  }
}
