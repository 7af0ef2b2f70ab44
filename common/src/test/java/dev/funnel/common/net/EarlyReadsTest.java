package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assumptions;

/**
 * On epoll, a dialled socket whose peer sends and half-closes is read although AUTO_READ is off.
 * When the splice is installed after a hop (a task on the socket's loop), those bytes and the input
 * end must still reach the other side: {@link EarlyReads} keeps them and {@link Splice} passes them
 * on. Real sockets on a real epoll loop; without the handler the bytes are lost (the second test
 * shows the fault is real, so the first cannot pass by luck).
 */
class EarlyReadsTest {

  private static final byte[] EARLY = "sent and half-closed before the splice".getBytes(StandardCharsets.US_ASCII);

  private EventLoopGroup group;

  @BeforeEach
  void epoll() {
    Assumptions.assumeTrue(Epoll.isAvailable(), "no native epoll on this platform");
    group = new MultiThreadIoEventLoopGroup(1, StaleEventGuard.factory());
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void bytesAndTheInputEndReadBeforeTheSpliceReachTheOtherSide() throws Exception {
    assertThat(splicedLate(new EarlyReads())).isEqualTo(EARLY);
  }

  @Test
  void withoutItThePipelinesTailDropsThem() throws Exception {
    assertThat(splicedLate(new ChannelInboundHandlerAdapter())).isNull();
  }

  /** What the far side received through a splice installed after the near peer sent and half-closed; null: nothing by EOF. */
  private byte[] splicedLate(ChannelHandler first) throws Exception {
    try (ServerSocket near = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
         ServerSocket far = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
      near.setSoTimeout(5_000);
      far.setSoTimeout(5_000);
      Channel dialled = dial(near.getLocalPort(), first);
      // Ahead of the handler under test: says when epoll has read the bytes and the FIN.
      CountDownLatch inputEnded = new CountDownLatch(1);
      dialled.pipeline().addFirst(new ChannelInboundHandlerAdapter() {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
          if (evt instanceof ChannelInputShutdownEvent) {
            inputEnded.countDown();
          }
          ctx.fireUserEventTriggered(evt);
        }
      });
      Channel other = dial(far.getLocalPort(), new ChannelInboundHandlerAdapter());
      try (Socket nearPeer = near.accept(); Socket farPeer = far.accept()) {
        nearPeer.getOutputStream().write(EARLY);
        nearPeer.shutdownOutput();
        // The splice starts once epoll has read the bytes and the FIN (not after a pause that a
        // starved loop may not have used to read them); the test's own bound stops a hang.
        assertThat(inputEnded.await(20, TimeUnit.SECONDS)).as("epoll read the FIN").isTrue();
        Splice.start(PeekedConnection.fresh(dialled), PeekedConnection.fresh(other), StreamSplice.ByteCounter.NONE,
            StreamSplice.ByteCounter.NONE);
        farPeer.setSoTimeout(2_000);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        InputStream in = farPeer.getInputStream();
        byte[] buf = new byte[256];
        try {
          for (int n; (n = in.read(buf)) >= 0; ) {
            got.write(buf, 0, n);
          }
        } catch (java.net.SocketTimeoutException noEof) {
          return got.size() == 0 ? null : got.toByteArray();
        }
        return got.size() == 0 ? null : got.toByteArray();
      } finally {
        dialled.close();
        other.close();
      }
    }
  }

  private Channel dial(int port, ChannelHandler handler) throws InterruptedException {
    return new Bootstrap().group(group).channel(EpollSocketChannel.class)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .handler(handler)
        .connect(InetAddress.getLoopbackAddress(), port).sync().channel();
  }
}
