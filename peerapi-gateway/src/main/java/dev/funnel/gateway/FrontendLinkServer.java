package dev.funnel.gateway;

import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.net.DataPlaneListener;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.Http2StreamBytes;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.Splice;
import dev.funnel.common.net.StreamHead;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.OpenStream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
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
import java.util.Optional;

/**
 * Where frontends in other processes open tunnels: HTTP/2 over mutually authenticated TLS (both
 * certificates from the cluster's CA), this gateway the server. Each stream is one open
 * ({@link OpenStream}): the node's stream is opened through the {@link TunnelOpener}, the frontend
 * hears {@code 200} (or the coded refusal), and the two streams are spliced. A frontend learns a
 * dead gateway from its closed connections, at once.
 */
final class FrontendLinkServer {

  private static final System.Logger LOG = System.getLogger(FrontendLinkServer.class.getName());

  private final GatewayOptions options;
  private final SslContext tls;
  private final GatewayLink opener;
  private final GatewayMetrics metrics;
  private DataPlaneListener server;

  FrontendLinkServer(GatewayOptions options, SslContext tls, GatewayLink opener, GatewayMetrics metrics) {
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
        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel stream) {
            stream.config().setAutoRead(false);
            Links.batchReads(stream);
            stream.pipeline().addLast(Http2StreamBytes.NAME, new Http2StreamBytes());
            stream.pipeline().addLast(StreamHead.NAME, new StreamHead(
                (head, peeked) -> onOpen(head, peeked), () -> { }));
            stream.read();
          }
        }));
      }
    }).map(listener -> {
      server = listener;
      return listener.port();
    });
  }

  Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  private void onOpen(Http2Headers head, PeekedConnection frontend) {
    Channel stream = frontend.channel();
    Optional<OpenRequest> request = OpenStream.parse(head);
    if (request.isEmpty()) {
      frontend.bytes().release();
      LOG.log(Level.INFO, "link stream from " + stream.parent().remoteAddress() + " is not an open; rejecting");
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(IngressAnswer.refuse(IngressAnswer.BAD_REQUEST,
          "not an open"), true));
      return;
    }
    // What the frontend sent with its open (the client's first bytes) goes with the offer to the node.
    ByteBuf first = frontend.bytes();
    long sent = first.readableBytes();
    opener.open(request.get(), first, stream.eventLoop()).addListener(opened -> {
      first.release();
      if (!opened.isSuccess()) {
        Throwable cause = opened.cause();
        OpenFailure failure = FailureCode.of(cause).flatMap(OpenFailure::fromCode).orElse(OpenFailure.NO_DATA_CONNECTION);
        stream.writeAndFlush(new DefaultHttp2HeadersFrame(OpenStream.refusal(failure, String.valueOf(cause.getMessage())),
            true));
        return;
      }
      PeekedConnection node = (PeekedConnection) opened.getNow();
      if (!stream.isActive()) {
        node.bytes().release();
        node.channel().close();
        return;
      }
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(IngressAnswer.accept(), false));
      metrics.inbound(sent);
      Splice.start(new PeekedConnection(stream, Unpooled.EMPTY_BUFFER, frontend.inputEnded()), node,
          metrics::inbound, metrics::outbound);
    });
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
