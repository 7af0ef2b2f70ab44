package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A link connection with both real codecs ({@link Links#clientCodec} dialling {@link Links#serverCodec}
 * on loopback), used as tunnels use it: streams that end with RST_STREAM, each way, far more than
 * Netty's rapid-reset default (200 in 30 s) within seconds. The connection stays up and keeps
 * carrying new streams.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LinksTest {

  private static final int STREAMS = 600;

  private final java.util.List<Channel> channels = new java.util.ArrayList<>();

  @AfterEach
  void tearDown() {
    channels.forEach(Channel::close);
  }

  @Test
  void manyStreamsEndingWithResetEachWayLeaveTheConnectionUp() throws Exception {
    CountDownLatch seen = new CountDownLatch(STREAMS);
    AtomicInteger resetByServer = new AtomicInteger();
    Channel server = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.serverCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 1000)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof Http2HeadersFrame head) {
                      String path = String.valueOf(head.headers().path());
                      if (path.equals("/server-resets")) {
                        resetByServer.incrementAndGet();
                        ctx.close();   // open stream, no END_STREAM either way: RST_STREAM to the client
                      } else if (path.equals("/answer")) {
                        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), true));
                      }
                      seen.countDown();
                    }
                    io.netty.util.ReferenceCountUtil.release(msg);
                  }
                });
              }
            }));
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    channels.add(server);
    Channel link = new Bootstrap().group(DataPlane.group()).channel(DataPlane.channel())
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 1000)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
          }
        })
        .connect(server.localAddress()).sync().channel();
    channels.add(link);

    for (int i = 0; i < STREAMS; i++) {
      boolean clientResets = i % 2 == 0;
      Http2StreamChannel stream = new io.netty.handler.codec.http2.Http2StreamChannelBootstrap(link)
          .handler(new ChannelInboundHandlerAdapter()).open().sync().getNow();
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST")
          .path(clientResets ? "/client-resets" : "/server-resets"))).sync();
      if (clientResets) {
        stream.close().sync();   // open stream, no END_STREAM: RST_STREAM to the server
      }
    }
    assertThat(seen.await(30, TimeUnit.SECONDS)).as("the server saw every stream").isTrue();
    assertThat(resetByServer.get()).isEqualTo(STREAMS / 2);

    // Both sides have now received 300 resets within seconds: the connection still carries a new stream.
    CountDownLatch answered = new CountDownLatch(1);
    Http2StreamChannel last = new io.netty.handler.codec.http2.Http2StreamChannelBootstrap(link)
        .handler(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame head && "200".contentEquals(head.headers().status())) {
              answered.countDown();
            }
            io.netty.util.ReferenceCountUtil.release(msg);
          }
        }).open().sync().getNow();
    last.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST").path("/answer"), true));
    assertThat(answered.await(10, TimeUnit.SECONDS)).as("a stream answered after the resets").isTrue();
    assertThat(link.isActive()).as("the link connection is up").isTrue();
  }

  /**
   * Several streams with DATA waiting on one link each send frames as large as one stream alone
   * would, not turns of Netty's default 1 KiB (which made a frontend write ~3 KiB at a time to each
   * of 8 bulk clients).
   */
  @Test
  void concurrentStreamsSendWholeFrames() throws Exception {
    int streams = 8;
    int framesPerStream = 16;
    java.util.concurrent.atomic.AtomicLong dataBytes = new java.util.concurrent.atomic.AtomicLong();
    AtomicInteger dataFrames = new AtomicInteger();
    CountDownLatch ended = new CountDownLatch(streams);
    Channel server = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.serverCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 1000)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel stream) {
                stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                  @Override
                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (msg instanceof Http2DataFrame data) {
                      if (data.content().isReadable()) {
                        dataFrames.incrementAndGet();
                        dataBytes.addAndGet(data.content().readableBytes());
                      }
                      if (data.isEndStream()) {
                        ended.countDown();
                      }
                    }
                    io.netty.util.ReferenceCountUtil.release(msg);
                  }
                });
              }
            }));
          }

          @Override
          public void channelActive(ChannelHandlerContext ctx) throws Exception {
            Links.raiseConnectionWindow(ctx.channel(), Links.DEFAULT_CONNECTION_WINDOW_BYTES);
            super.channelActive(ctx);
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    channels.add(server);
    Channel link = new Bootstrap().group(DataPlane.group()).channel(DataPlane.channel())
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 1000)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
          }
        })
        .connect(server.localAddress()).sync().channel();
    channels.add(link);

    java.util.List<Http2StreamChannel> open = new java.util.ArrayList<>();
    for (int i = 0; i < streams; i++) {
      Http2StreamChannel stream = new io.netty.handler.codec.http2.Http2StreamChannelBootstrap(link)
          .handler(new ChannelInboundHandlerAdapter()).open().sync().getNow();
      stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("POST").path("/bulk"))).sync();
      open.add(stream);
    }
    io.netty.buffer.ByteBuf zeros = io.netty.buffer.Unpooled.directBuffer(Links.MAX_FRAME_BYTES)
        .writeZero(Links.MAX_FRAME_BYTES);
    // Every stream's frames are queued before one flush: the flow controller shares the link among them.
    link.eventLoop().submit(() -> {
      for (int f = 0; f < framesPerStream; f++) {
        for (Http2StreamChannel stream : open) {
          stream.write(new DefaultHttp2DataFrame(zeros.retainedDuplicate(), f == framesPerStream - 1));
        }
      }
      link.flush();
    }).sync();
    zeros.release();

    assertThat(ended.await(30, TimeUnit.SECONDS)).as("every stream ended").isTrue();
    assertThat(dataBytes.get()).isEqualTo((long) streams * framesPerStream * Links.MAX_FRAME_BYTES);
    assertThat(dataBytes.get() / dataFrames.get()).as("mean DATA frame size").isGreaterThanOrEqualTo(16 * 1024L);
  }
}
