package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

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
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.ChannelOutputShutdownException;
import io.netty.channel.socket.DuplexChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link DataPlaneSockets} with real sockets on the data plane's loops: a half-close with nothing
 * queued (its own path) ends the peer's input, fires the event Netty fires and leaves the other
 * direction open; with a write still queued it is Netty's path, which fails that write.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DataPlaneSocketsTest {

  private DataPlaneListener listener;
  private final CompletableFuture<Channel> acceptedSide = new CompletableFuture<>();
  private final BlockingQueue<Object> acceptedSaw = new LinkedBlockingQueue<>();
  private final BlockingQueue<Object> dialledSaw = new LinkedBlockingQueue<>();
  private Channel dialled;

  @BeforeEach
  void connect() throws Exception {
    Assumptions.assumeFalse(DataPlane.epoll(), "NIO sockets only");
    listener = DataPlaneListener.bind(new HostPort("127.0.0.1", 0), new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ch.pipeline().addLast(new Recorder(acceptedSaw));
        acceptedSide.complete(ch);
      }
    }).await(5, TimeUnit.SECONDS);
    ChannelFuture dial = new Bootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.channel())
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .handler(new Recorder(dialledSaw))
        .connect("127.0.0.1", listener.port());
    dialled = dial.sync().channel();
  }

  @AfterEach
  void close() throws Exception {
    if (dialled != null) {
      dialled.close().sync();
    }
    if (listener != null) {
      listener.close().await(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void bothEndsAreTheDataPlanesSockets() throws Exception {
    assertThat(dialled).isInstanceOf(DataPlaneSockets.Socket.class);
    assertThat(acceptedSide.get(5, TimeUnit.SECONDS)).isInstanceOf(DataPlaneSockets.Socket.class);
  }

  @Test
  void aHalfCloseWithNothingQueuedEndsThePeersInputAndTheOtherWayStaysOpen() throws Exception {
    Channel accepted = acceptedSide.get(5, TimeUnit.SECONDS);
    dialled.writeAndFlush(ascii("ping")).sync();
    ChannelFuture shut = dialled.eventLoop().submit(() -> ((DuplexChannel) dialled).shutdownOutput()).get().sync();

    assertThat(shut.isSuccess()).isTrue();
    assertThat(((DuplexChannel) dialled).isOutputShutdown()).isTrue();
    assertThat(dialledSaw.poll(5, TimeUnit.SECONDS)).isSameAs(ChannelOutputShutdownEvent.INSTANCE);
    assertThat(acceptedSaw.poll(5, TimeUnit.SECONDS)).isEqualTo("ping");
    assertThat(acceptedSaw.poll(5, TimeUnit.SECONDS)).isSameAs(ChannelInputShutdownEvent.INSTANCE);

    accepted.writeAndFlush(ascii("pong")).sync();
    assertThat(dialledSaw.poll(5, TimeUnit.SECONDS)).isEqualTo("pong");
    ((DuplexChannel) accepted).shutdownOutput().sync();
    assertThat(dialledSaw.poll(5, TimeUnit.SECONDS)).isSameAs(ChannelInputShutdownEvent.INSTANCE);
  }

  /**
   * A splice half-closes from the listener of its last write, while Netty still counts that write as
   * pending: the socket's own path all the same (Netty's would build an exception and drop the
   * channel's outbound buffer, which is how this test tells the two apart).
   */
  @Test
  void aHalfCloseFromTheLastWritesListenerTakesTheQuietPath() throws Exception {
    acceptedSide.get(5, TimeUnit.SECONDS);
    CompletableFuture<ChannelFuture> shut = new CompletableFuture<>();
    dialled.eventLoop().execute(() -> {
      dialled.write(ascii("last")).addListener(written ->
          shut.complete(((DuplexChannel) dialled).shutdownOutput()));
      dialled.flush();   // the listener runs inside this flush
    });

    ChannelFuture done = shut.get(5, TimeUnit.SECONDS).sync();
    assertThat(done.isSuccess()).isTrue();
    assertThat(dialledSaw.poll(5, TimeUnit.SECONDS)).isSameAs(ChannelOutputShutdownEvent.INSTANCE);
    assertThat(acceptedSaw.poll(5, TimeUnit.SECONDS)).isEqualTo("last");
    assertThat(acceptedSaw.poll(5, TimeUnit.SECONDS)).isSameAs(ChannelInputShutdownEvent.INSTANCE);
    assertThat(dialled.eventLoop().submit(() -> dialled.unsafe().outboundBuffer()).get())
        .as("Netty's path drops the outbound buffer").isNotNull();
  }

  @Test
  void aHalfCloseWithAWriteQueuedFailsThatWriteAsNettyDoes() throws Exception {
    acceptedSide.get(5, TimeUnit.SECONDS);
    CompletableFuture<ChannelFuture[]> both = new CompletableFuture<>();
    dialled.eventLoop().execute(() -> {
      ChannelFuture queued = dialled.write(ascii("never flushed"));
      ChannelFuture shut = ((DuplexChannel) dialled).shutdownOutput();
      both.complete(new ChannelFuture[] {queued, shut});
    });
    ChannelFuture[] futures = both.get(5, TimeUnit.SECONDS);

    assertThat(futures[1].await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(futures[1].isSuccess()).isTrue();
    assertThat(futures[0].await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(futures[0].cause()).isInstanceOf(ChannelOutputShutdownException.class);
    assertThat(acceptedSaw.poll(5, TimeUnit.SECONDS)).isSameAs(ChannelInputShutdownEvent.INSTANCE);
  }

  private static ByteBuf ascii(String text) {
    return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
  }

  /** Records what reaches the end of a pipeline: reads as text, shutdown events as themselves. */
  private static final class Recorder extends ChannelInboundHandlerAdapter {
    private final BlockingQueue<Object> saw;

    Recorder(BlockingQueue<Object> saw) {
      this.saw = saw;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf bytes = (ByteBuf) msg;
      saw.add(bytes.toString(StandardCharsets.US_ASCII));
      bytes.release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof ChannelInputShutdownEvent || event instanceof ChannelOutputShutdownEvent) {
        saw.add(event);
      }
    }
  }
}
