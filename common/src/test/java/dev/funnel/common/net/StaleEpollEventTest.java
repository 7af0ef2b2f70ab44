package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.UnixChannel;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The failure that kept the data plane off epoll, reproduced: two sockets on one loop become
 * readable in the same {@code epoll_wait} batch; handling the first closes the second and dials a
 * new socket, which gets the closed one's descriptor number; the closed socket's event, still in
 * the batch, then reaches the new socket while it is connecting. On Netty's plain epoll handler
 * that fails the dial ({@code NotYetConnectedException}); on {@link StaleEventGuard} it does not.
 */
class StaleEpollEventTest {

  @BeforeAll
  static void epollHere() {
    Assumptions.assumeTrue(Epoll.isAvailable(), "no native epoll on this platform");
  }

  @Test
  void nettysPlainEpollHandlerHandsTheClosedSocketsEventToItsSuccessor() throws Exception {
    Scenario run = runUntilReused(EpollIoHandler.newFactory());
    assertThat(run.reusedNumber).as("the new socket took the closed one's number").isTrue();
    assertThat(run.seen).as("if this fails, Netty no longer delivers stale events: StaleEventGuard can go")
        .anyMatch(line -> line.contains("NotYetConnectedException"));
    assertThat(run.connected).isFalse();
  }

  @Test
  void theGuardKeepsTheBatchsEventsFromASocketBornInIt() throws Exception {
    Scenario run = runUntilReused(StaleEventGuard.factory());
    assertThat(run.reusedNumber).as("the new socket took the closed one's number").isTrue();
    assertThat(run.seen).noneMatch(line -> line.contains("Exception"));
    assertThat(run.connected).as("the dial succeeds and the server sees it").isTrue();
  }

  private static final class Scenario {
    final List<String> seen = new CopyOnWriteArrayList<>();
    volatile boolean reusedNumber;
    volatile boolean connected;
  }

  /**
   * The scenario needs the new socket to get the closed one's number; another thread of this JVM
   * (other tests) may take it first, so it is tried again, up to 10 times.
   */
  private static Scenario runUntilReused(IoHandlerFactory io) throws Exception {
    Scenario run = null;
    for (int attempt = 0; attempt < 10 && (run == null || !run.reusedNumber); attempt++) {
      run = run(io);
    }
    return run;
  }

  private static Scenario run(IoHandlerFactory io) throws Exception {
    Scenario run = new Scenario();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
    EventLoop loop = group.next();
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      server.setSoTimeout(3_000);
      InetSocketAddress address = (InetSocketAddress) server.getLocalSocketAddress();
      AtomicBoolean first = new AtomicBoolean(true);
      Channel[] pair = new Channel[2];
      CountDownLatch dialEnded = new CountDownLatch(1);
      Bootstrap bootstrap = new Bootstrap().group(loop).channel(EpollSocketChannel.class);
      for (int i = 0; i < 2; i++) {
        int me = i;
        pair[i] = bootstrap.clone().handler(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
            if (!first.compareAndSet(true, false)) {
              return;
            }
            // In the same batch: close the other socket (its event is still pending), dial a new one.
            Channel other = pair[1 - me];
            int closedNumber = ((UnixChannel) other).fd().intValue();
            other.close();
            Channel dial = bootstrap.clone().handler(new ChannelInboundHandlerAdapter() {
              @Override
              public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
                run.seen.add("dial: " + cause);
              }
            }).connect(address).addListener(f -> {
              run.seen.add("dial " + (f.isSuccess() ? "connected" : "failed: " + f.cause()));
              dialEnded.countDown();
            }).channel();
            run.reusedNumber = ((UnixChannel) dial).fd().intValue() == closedNumber;
          }
        }).connect(address).sync().channel();
      }
      try (Socket a = server.accept(); Socket b = server.accept()) {
        // Hold the loop while both peers send a byte and a FIN, so one epoll_wait returns both.
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        loop.execute(() -> {
          held.countDown();
          try {
            release.await(5, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
        assertThat(held.await(5, TimeUnit.SECONDS)).isTrue();
        for (Socket peer : List.of(a, b)) {
          OutputStream out = peer.getOutputStream();
          out.write(1);
          out.flush();
          peer.shutdownOutput();
        }
        Thread.sleep(200);   // not a timing assertion: lets loopback deliver both before the loop polls
        release.countDown();
        try (Socket dialled = server.accept()) {
          run.connected = dialEnded.await(5, TimeUnit.SECONDS) && run.seen.contains("dial connected");
        } catch (SocketTimeoutException never) {
          run.connected = false;
        }
      }
      pair[0].close();
      pair[1].close();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
    return run;
  }
}
