package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link StreamSplice} with both sides real: a client socket → a frontend-like listener that opens
 * a stream with {@link LinkStreams} on a link connection (plain TCP, HTTP/2) → a node-like server
 * whose stream channels are spliced ({@link Splice}) to a server socket. Different sizes each way,
 * half-close each way, live byte counts, a reset client.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StreamSpliceTest {

  private static final int UP = 1 << 20;
  private static final int DOWN = 600 * 1024;

  private final List<Channel> servers = new ArrayList<>();
  /** The node-like server's stream channels, to watch their close. */
  private final LinkedBlockingQueue<Channel> nodeStreams = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<StreamSplice.Stats> finished = new LinkedBlockingQueue<>();
  /** The frontend-like listener's client sockets, as accepted. */
  private final LinkedBlockingQueue<Channel> acceptedClients = new LinkedBlockingQueue<>();
  private Channel link;

  @AfterEach
  void tearDown() {
    servers.forEach(Channel::close);
  }

  @Test
  void theClientsHalfCloseTravelsAndTheReplyStillArrives() throws Exception {
    byte[] up = random(UP, 1);
    byte[] down = random(DOWN, 2);
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon(() -> {
      try (server; Socket s = server.accept()) {
        received.complete(s.getInputStream().readAllBytes());
        s.getOutputStream().write(down);
        s.shutdownOutput();
        s.getInputStream().read();
      }
    });
    AtomicLong counted = new AtomicLong();
    int port = listener(server.getLocalPort(), counted);
    try (Socket client = connect(port)) {
      client.getOutputStream().write(up);
      client.shutdownOutput();
      byte[] reply = client.getInputStream().readAllBytes();
      assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(up);
      assertThat(Arrays.equals(reply, down)).as("reply byte for byte").isTrue();
    }
    StreamSplice.Stats stats = finished.poll(20, TimeUnit.SECONDS);
    assertThat(stats).as("the splice finished").isNotNull();
    assertThat(stats.aToB()).isEqualTo(UP);
    assertThat(stats.bToA()).isEqualTo(DOWN);
    assertThat(counted.get()).as("bytes counted as they passed").isEqualTo(UP + DOWN);
    assertThat(activeStreams()).as("streams left on the link").isZero();
  }

  @Test
  void theServersHalfCloseTravelsAndTheClientStillSends() throws Exception {
    byte[] greeting = random(70_000, 3);
    byte[] up = random(UP, 4);
    LinkedBlockingQueue<byte[]> got = new LinkedBlockingQueue<>();
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon(() -> {
      try (server; Socket s = server.accept()) {
        s.getOutputStream().write(greeting);
        s.shutdownOutput();
        got.add(s.getInputStream().readAllBytes());
      }
    });
    int port = listener(server.getLocalPort(), new AtomicLong());
    try (Socket client = connect(port)) {
      InputStream in = client.getInputStream();
      assertThat(in.readNBytes(greeting.length)).isEqualTo(greeting);
      assertThat(in.read()).as("the server's FIN arrives as the client's end of input").isEqualTo(-1);
      if (!DataPlane.epoll()) {
        // Shut from the listener of the socket's last write, the socket's own quiet path all the
        // same (DataPlaneSockets): Netty's would have built an exception and dropped this buffer.
        Channel accepted = acceptedClients.poll(5, TimeUnit.SECONDS);
        assertThat(accepted.eventLoop().submit(() -> accepted.unsafe().outboundBuffer()).get(5, TimeUnit.SECONDS))
            .as("the half-close took DataPlaneSockets' quiet path").isNotNull();
      }
      OutputStream out = client.getOutputStream();
      out.write(up);
      client.shutdownOutput();
      assertThat(got.poll(20, TimeUnit.SECONDS)).isEqualTo(up);
    }
    assertThat(finished.poll(20, TimeUnit.SECONDS)).as("the splice finished").isNotNull();
  }

  /** A client that resets mid-transfer: the node's stream is reset, nothing stays on the link. */
  @Test
  void aClientThatResetsResetsTheStream() throws Exception {
    CountDownLatch accepted = new CountDownLatch(1);
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon(() -> {
      try (server; Socket s = server.accept()) {
        accepted.countDown();
        byte[] chunk = new byte[64 * 1024];
        OutputStream out = s.getOutputStream();
        while (true) {
          out.write(chunk);   // until the tunnel is gone
        }
      }
    });
    int port = listener(server.getLocalPort(), new AtomicLong());
    Socket client = connect(port);
    client.getOutputStream().write(random(1000, 5));
    assertThat(accepted.await(20, TimeUnit.SECONDS)).isTrue();
    assertThat(client.getInputStream().readNBytes(100_000)).hasSize(100_000);
    Channel nodeStream = nodeStreams.poll(20, TimeUnit.SECONDS);
    client.setSoLinger(true, 0);
    client.close();
    assertThat(nodeStream.closeFuture().await(20, TimeUnit.SECONDS)).as("the node's stream closed").isTrue();
    assertThat(finished.poll(20, TimeUnit.SECONDS)).as("the splice finished").isNotNull();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (activeStreams() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(activeStreams()).as("streams left on the link").isZero();
  }

  /** The link connection dies: the client's connection is closed. */
  @Test
  void aDeadLinkClosesTheClient() throws Exception {
    ServerSocket server = threeBytesThenReadsAll();
    int port = listener(server.getLocalPort(), new AtomicLong());
    try (Socket client = connect(port)) {
      client.getOutputStream().write(random(1000, 6));
      assertThat(client.getInputStream().readNBytes(3)).containsExactly(1, 2, 3);
      link.close();
      assertThat(client.getInputStream().read()).as("the client's connection ends").isEqualTo(-1);
    }
    assertThat(finished.poll(20, TimeUnit.SECONDS)).as("the splice finished").isNotNull();
  }

  /**
   * What a dialled socket read before its splice (kept by {@link EarlyReads}, as epoll reads
   * without being asked) goes first, and the socket's later bytes and FIN follow.
   */
  @Test
  void bytesReadBeforeTheSpliceGoFirst() throws Exception {
    byte[] early = random(3000, 7);
    byte[] later = random(200_000, 8);
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon(() -> {
      try (server; Socket s = server.accept()) {
        received.complete(s.getInputStream().readAllBytes());
        s.getOutputStream().write(new byte[] {42});
      }
    });
    CountDownLatch readEarly = new CountDownLatch(1);
    int port = listener(server.getLocalPort(), new AtomicLong(), readEarly, false);
    try (Socket client = connect(port)) {
      client.getOutputStream().write(early);
      assertThat(readEarly.await(20, TimeUnit.SECONDS)).isTrue();
      client.getOutputStream().write(later);
      client.shutdownOutput();
      assertThat(client.getInputStream().read()).isEqualTo(42);
    }
    byte[] both = Arrays.copyOf(early, early.length + later.length);
    System.arraycopy(later, 0, both, early.length, later.length);
    assertThat(Arrays.equals(received.get(20, TimeUnit.SECONDS), both)).as("early bytes first, then the rest").isTrue();
    assertThat(finished.poll(20, TimeUnit.SECONDS)).as("the splice finished").isNotNull();
  }

  /**
   * A tunnel whose stream ends first (its link died) with the client's socket on the link's own
   * loop, where the socket's close completes at once: nothing (a close-grace timer) holds the
   * finished tunnel's objects afterwards.
   */
  @Test
  void aFinishedTunnelIsNotHeldByItsCloseGrace() throws Exception {
    ServerSocket server = threeBytesThenReadsAll();
    int port = listener(server.getLocalPort(), new AtomicLong(), null, true);
    java.lang.ref.WeakReference<Channel> accepted;
    try (Socket client = connect(port)) {
      accepted = new java.lang.ref.WeakReference<>(java.util.Objects.requireNonNull(
          acceptedClients.poll(5, TimeUnit.SECONDS), "no client accepted"));
      client.getOutputStream().write(random(1000, 9));
      assertThat(client.getInputStream().readNBytes(3)).containsExactly(1, 2, 3);
      link.close();
      assertThat(client.getInputStream().read()).as("the client's connection ends").isEqualTo(-1);
    }
    assertThat(finished.poll(20, TimeUnit.SECONDS)).as("the splice finished").isNotNull();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (accepted.get() != null && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(50);
    }
    assertThat(accepted.get()).as("the client's channel, once its tunnel finished").isNull();
  }

  // ------------------------------------------------------------------------------------------ rig

  /** Each accepted connection gets a stream on the link, answered 200, spliced with {@link StreamSplice}. */
  private int listener(int target, AtomicLong counted) throws Exception {
    return listener(target, counted, null, false);
  }

  /**
   * With {@code readEarly}: each client's first bytes are read into an {@link EarlyReads} before
   * its stream is opened (the latch counts down once they are), as epoll may read a dialled socket.
   * With {@code onLinksLoop}: the clients on the link's own loop.
   */
  private int listener(int target, AtomicLong counted, CountDownLatch readEarly, boolean onLinksLoop)
      throws Exception {
    link = linkTo(target);
    Channel server = new ServerBootstrap()
        .group(DataPlane.group(), onLinksLoop ? link.eventLoop() : DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel client) {
            acceptedClients.add(client);
            if (readEarly != null) {
              client.pipeline().addLast(new EarlyReads());
              client.pipeline().addLast(new ChannelInboundHandlerAdapter() {   // EarlyReads passes on only this
                @Override
                public void channelReadComplete(ChannelHandlerContext ctx) {
                  ctx.pipeline().remove(this);
                  readEarly.countDown();
                  splice(client, counted);
                }
              });
              client.read();
              return;
            }
            splice(client, counted);
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    servers.add(server);
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  private void splice(Channel client, AtomicLong counted) {
    LinkStreams.open(link, new DefaultHttp2Headers().method("POST").path("/v0/test"), Unpooled.EMPTY_BUFFER,
        5_000).addListener(f -> {
          OpenAnswer.Accepted<?> accepted = (OpenAnswer.Accepted<?>) f.getNow();
          StreamSplice.start(PeekedConnection.fresh(client), (LinkStreams.End) accepted.stream(),
              counted::addAndGet, counted::addAndGet, Pacer.NONE, Pacer.NONE)
              .addListener(done -> finished.add((StreamSplice.Stats) done.getNow()));
        });
  }

  /** A target that sends three bytes, then reads until its client ends. */
  private static ServerSocket threeBytesThenReadsAll() throws Exception {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon(() -> {
      try (server; Socket s = server.accept()) {
        s.getOutputStream().write(new byte[] {1, 2, 3});
        s.getInputStream().readAllBytes();
      }
    });
    return server;
  }

  /** A client whose reads fail after 20 s rather than hang the test. */
  private static Socket connect(int port) throws Exception {
    Socket client = new Socket("127.0.0.1", port);
    client.setSoTimeout(20_000);
    return client;
  }

  private static ChannelFuture connectPlain(int port, EventLoop loop) {
    return new Bootstrap().group(loop).channel(DataPlane.channel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .handler(new ChannelInboundHandlerAdapter())
        .connect("127.0.0.1", port);
  }

  /** A link (the frontend's side with {@link LinkStreams}) to a node-like server splicing each stream to {@code target}. */
  private Channel linkTo(int target) throws Exception {
    Channel node = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.serverCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 100)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
              @Override
              protected void initChannel(Http2StreamChannel stream) {
                stream.config().setAutoRead(false);
                nodeStreams.add(stream);
                stream.pipeline().addLast(new Http2StreamBytes());
                stream.pipeline().addLast(new StreamHead((head, peeked) -> connectPlain(target, stream.eventLoop())
                    .addListener(f -> {
                      stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                      Splice.start(peeked, PeekedConnection.fresh(((ChannelFuture) f).channel()), n -> { }, n -> { });
                    }), () -> { }));
                stream.read();
              }
            }));
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    servers.add(node);
    Channel client = new Bootstrap().group(DataPlane.group()).channel(DataPlane.channel())
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 100)));
            ch.pipeline().addLast(LinkStreams.NAME, LinkStreams.refusingInbound());
          }
        })
        .connect(node.localAddress()).sync().channel();
    Links.raiseConnectionWindow(client, Links.DEFAULT_CONNECTION_WINDOW_BYTES);
    servers.add(client);
    return client;
  }

  private int activeStreams() throws Exception {
    return link.eventLoop().submit(() -> link.pipeline().get(Http2FrameCodec.class).connection().numActiveStreams())
        .get(5, TimeUnit.SECONDS);
  }

  private interface Body {
    void run() throws Exception;
  }

  private static void daemon(Body body) {
    Thread t = new Thread(() -> {
      try {
        body.run();
      } catch (Exception e) {
        // the test's assertions say what went wrong
      }
    });
    t.setDaemon(true);
    t.start();
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }
}
