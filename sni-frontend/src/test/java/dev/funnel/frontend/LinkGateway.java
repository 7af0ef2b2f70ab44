package dev.funnel.frontend;

import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.net.StreamSplice;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.Http2StreamBytes;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.Splice;
import dev.funnel.common.net.StreamHead;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.OpenStream;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A gateway's frontend link for tests, built from the same common pieces as the real one
 * ({@code FrontendLinkServer}): HTTP/2 over mutual TLS (or plaintext, {@code tls} null), one stream
 * per open, each a Netty child channel (not the {@code LinkStreams} the frontend's side uses). What
 * it answers depends on the node the open names: {@link #REFUSED}, {@link #GONE} and
 * {@link #NO_CODE} refuse with a failure header or without one, {@link #CLOSE} closes the whole
 * connection, and any other ({@link #OK}) dials the test backend and splices.
 */
final class LinkGateway implements AutoCloseable {

  static final String OK = "node-ok";
  static final String REFUSED = "node-refused";
  static final String GONE = "node-gone";
  static final String NO_CODE = "node-nocode";
  static final String CLOSE = "node-close";

  final List<OpenRequest> opens = new CopyOnWriteArrayList<>();
  final AtomicInteger connections = new AtomicInteger();
  final List<Channel> open = new CopyOnWriteArrayList<>();
  private final int backendPort;
  private final Channel server;

  LinkGateway(SslContext tls, int backendPort) throws InterruptedException {
    this.backendPort = backendPort;
    this.server = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            connections.incrementAndGet();
            open.add(ch);
            ch.closeFuture().addListener(f -> open.remove(ch));
            if (tls != null) {
              ch.pipeline().addLast(tls.newHandler(ch.alloc()));
            }
            ch.pipeline().addLast(Links.serverCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 100)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel stream) {
                stream.config().setAutoRead(false);
                stream.pipeline().addLast(Http2StreamBytes.NAME, new Http2StreamBytes());
                stream.pipeline().addLast(StreamHead.NAME, new StreamHead(LinkGateway.this::onOpen, () -> { }));
                stream.read();
              }
            }));
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  private void onOpen(Http2Headers head, PeekedConnection frontend) {
    Channel stream = frontend.channel();
    Optional<OpenRequest> request = OpenStream.parse(head);
    if (request.isEmpty()) {
      frontend.bytes().release();
      answer(stream, IngressAnswer.refuse(IngressAnswer.BAD_REQUEST, "not an open"));
      return;
    }
    opens.add(request.get());
    switch (request.get().nodeId()) {
      case REFUSED -> refuse(frontend, OpenStream.refusal(OpenFailure.REFUSED, "the node said 403"));
      case GONE -> refuse(frontend, OpenStream.refusal(OpenFailure.NODE_GONE, "no such session"));
      case NO_CODE -> refuse(frontend, IngressAnswer.refuse(IngressAnswer.UNAVAILABLE, "something broke"));
      case CLOSE -> {
        frontend.bytes().release();
        stream.parent().close();
      }
      default -> dial(frontend);   // OK, and any other node
    }
  }

  /** Dials the backend; answers 200 and splices, or refuses when it is down. */
  private void dial(PeekedConnection frontend) {
    Channel stream = frontend.channel();
    new Bootstrap()
        .group(stream.eventLoop())
        .channel(DataPlane.channel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .handler(new ChannelInboundHandlerAdapter())
        .connect("127.0.0.1", backendPort)
        .addListener((ChannelFuture connected) -> {
          if (!connected.isSuccess()) {
            frontend.bytes().release();
            answer(stream, OpenStream.refusal(OpenFailure.REFUSED, "backend down"));
            return;
          }
          stream.writeAndFlush(new DefaultHttp2HeadersFrame(IngressAnswer.accept(), false));
          Splice.start(frontend, PeekedConnection.fresh(connected.channel()), StreamSplice.ByteCounter.NONE,
              StreamSplice.ByteCounter.NONE);
        });
  }

  private static void refuse(PeekedConnection frontend, Http2Headers answer) {
    frontend.bytes().release();
    answer(frontend.channel(), answer);
  }

  private static void answer(Channel stream, Http2Headers answer) {
    stream.writeAndFlush(new DefaultHttp2HeadersFrame(answer, true));
  }

  /** Closes every link connection (the gateway's process "dies"), keeps listening. */
  void dropConnections() {
    open.forEach(Channel::close);
  }

  @Override
  public void close() {
    dropConnections();
    server.close().syncUninterruptibly();
  }
}
