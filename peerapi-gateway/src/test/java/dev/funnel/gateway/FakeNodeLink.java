package dev.funnel.gateway;

import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.Http2StreamBytes;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.StreamHead;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.FrameReader;
import dev.funnel.common.peerapi.IngressAnswer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A node's link connection, for tests, speaking the real protocol: TLS to the gateway's node
 * listener (certificate checked against the test CA), the gateway's Challenge, a DataHello, then
 * HTTP/2 as the server. Every stream the gateway opens is an offer; {@code answer} decides what
 * happens to it: {@link #ECHO} (200, then every byte is echoed and END_STREAM answered with
 * END_STREAM), {@link #SILENT} (never answered), {@link #DIE} (the whole connection closes), or any
 * other status (a refusal with that status).
 */
final class FakeNodeLink {

  static final int ECHO = 200;
  static final int SILENT = 0;
  static final int DIE = -1;

  final Channel channel;
  /** The request heads of the offers this link received. */
  final List<Http2Headers> offers = new CopyOnWriteArrayList<>();
  /** Bytes the echoing streams received. */
  final AtomicLong echoed = new AtomicLong();
  private final Promise<Void> closed = Promise.promise();

  private FakeNodeLink(Channel channel) {
    this.channel = channel;
    channel.closeFuture().addListener(f -> closed.tryComplete());
  }

  /**
   * Dials {@code port}, answers the Challenge with {@code hello}; completes once the DataHello is
   * sent (whether the gateway keeps the connection is seen through {@link #closed()}).
   */
  static Future<FakeNodeLink> open(SslContext tls, int port, DataHello hello, Function<Http2Headers, Integer> answer) {
    Promise<FakeNodeLink> ready = Promise.promise();
    new Bootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.channel())
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(LinkTls.clientHandler(tls, ch.alloc(), "127.0.0.1", port, false, 5_000));
            ch.pipeline().addLast(new AwaitChallenge(hello, answer, ready));
          }
        })
        .connect("127.0.0.1", port)
        .addListener((ChannelFuture f) -> {
          if (!f.isSuccess()) {
            ready.tryFail(f.cause());
          } else {
            f.channel().closeFuture().addListener(c -> ready.tryFail("closed before the challenge ("
                + f.channel().pipeline().names() + ")"));
          }
        });
    return ready.future();
  }

  Future<Void> closed() {
    return closed.future();
  }

  void close() {
    channel.close();
  }

  private static final class AwaitChallenge extends ChannelInboundHandlerAdapter {
    private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    private final DataHello hello;
    private final Function<Http2Headers, Integer> answer;
    private final Promise<FakeNodeLink> ready;

    AwaitChallenge(DataHello hello, Function<Http2Headers, Integer> answer, Promise<FakeNodeLink> ready) {
      this.hello = hello;
      this.answer = answer;
      this.ready = ready;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf bytes = (ByteBuf) msg;
      byte[] copy = new byte[bytes.readableBytes()];
      bytes.readBytes(copy);
      bytes.release();
      ControlMessage first = reader.next(Buffer.buffer(copy));
      if (first == null) {
        return;
      }
      if (!(first instanceof Challenge)) {
        ready.tryFail("expected a challenge, got " + first);
        ctx.close();
        return;
      }
      Channel channel = ctx.channel();
      FakeNodeLink link = new FakeNodeLink(channel);
      // Ready once the challenge is here: whether the gateway keeps the link is seen through closed().
      ready.tryComplete(link);
      // The DataHello and the HTTP/2 preface (SETTINGS) leave as two TLS records, one right after
      // the other, as a real node's do: they often reach the gateway in one read.
      ctx.writeAndFlush(Unpooled.wrappedBuffer(hello.encode().getBytes()));
      ctx.pipeline().remove(this);
      channel.pipeline().addLast(Links.CODEC, Links.serverCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 1000)));
      channel.flush();
      channel.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
        @Override
        protected void initChannel(Http2StreamChannel stream) {
          stream.config().setAutoRead(false);
          stream.pipeline().addLast(Http2StreamBytes.NAME, new Http2StreamBytes());
          stream.pipeline().addLast(StreamHead.NAME, new StreamHead((head, peeked) -> onOffer(link, head, peeked),
              () -> { }));
          stream.read();
        }
      }));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ready.tryFail(cause);
      ctx.close();
    }

    private void onOffer(FakeNodeLink link, Http2Headers head, PeekedConnection stream) {
      link.offers.add(head);
      int status = answer.apply(head);
      Channel channel = stream.channel();
      if (status == SILENT) {
        stream.bytes().release();
        return;
      }
      if (status == DIE) {
        stream.bytes().release();
        link.channel.close();
        return;
      }
      if (status != ECHO) {
        stream.bytes().release();
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(IngressAnswer.refuse(status, "test refuses"), true));
        return;
      }
      channel.write(new DefaultHttp2HeadersFrame(IngressAnswer.accept(), false));
      ByteBuf early = stream.bytes();
      link.echoed.addAndGet(early.readableBytes());
      if (early.isReadable()) {
        channel.write(early);
      } else {
        early.release();
      }
      channel.flush();
      channel.pipeline().addLast(new Echo(link));
      if (stream.inputEnded()) {
        Http2StreamBytes.endOutput(channel);
      } else {
        channel.config().setAutoRead(true);
        channel.read();
      }
    }
  }

  /** Writes back every byte it reads; answers the end of input with its own. */
  private static final class Echo extends ChannelInboundHandlerAdapter {
    private final FakeNodeLink link;

    Echo(FakeNodeLink link) {
      this.link = link;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf bytes) {
        link.echoed.addAndGet(bytes.readableBytes());
        ctx.write(bytes);
      } else {
        io.netty.util.ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ctx.flush();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        ctx.flush();
        Http2StreamBytes.endOutput(ctx.channel());
      }
      ctx.fireUserEventTriggered(evt);
    }
  }
}
