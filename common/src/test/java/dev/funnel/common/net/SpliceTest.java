package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The splice between real sockets, and through a real HTTP/2 stream (a link connection on
 * loopback, the shape of node ⇄ gateway): a client socket → splice → [socket | HTTP/2 stream →
 * splice] → server socket. Different sizes each way, so a swapped wire fails; half-close each way;
 * live byte counts.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpliceTest {

  private static final int UP = 1 << 20;
  private static final int DOWN = 600 * 1024;

  private final java.util.List<Channel> servers = new java.util.ArrayList<>();
  /** Writes on the listener's stream channels that failed (a write after END_STREAM, say). */
  private final java.util.concurrent.atomic.AtomicInteger failedStreamWrites = new java.util.concurrent.atomic.AtomicInteger();
  /** The listener's stream channels, to wait for their close. */
  private final LinkedBlockingQueue<Channel> listenerStreams = new LinkedBlockingQueue<>();

  @AfterEach
  void tearDown() {
    servers.forEach(Channel::close);
  }

  /** The server reads until EOF, then answers with {@code reply} and closes. */
  private static ServerSocket answeringAfterEof(byte[] reply, CompletableFuture<byte[]> received) throws Exception {
    ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try (server; Socket s = server.accept()) {
        received.complete(s.getInputStream().readAllBytes());
        s.getOutputStream().write(reply);
        s.shutdownOutput();
        s.getInputStream().read();
      } catch (Exception e) {
        received.completeExceptionally(e);
      }
    });
    t.setDaemon(true);
    t.start();
    return server;
  }

  /**
   * A frontend-like listener: each accepted connection is spliced to {@code target}, directly
   * ({@code viaStream} false) or through an HTTP/2 stream on a link connection to a node-like
   * server that splices the stream to {@code target}.
   */
  private int listener(int target, boolean viaStream, AtomicLong counted) throws Exception {
    return listener(target, viaStream, counted, 0);
  }

  /** As above; a direct splice dials {@code target} with that send buffer (0: the system's). */
  private int listener(int target, boolean viaStream, AtomicLong counted, int sendBuffer) throws Exception {
    Channel link = viaStream ? linkTo(target) : null;
    Channel server = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel client) {
            if (link == null) {
              connectPlain(target, client.eventLoop(), sendBuffer).addListener(f -> Splice.start(PeekedConnection.fresh(client),
                  PeekedConnection.fresh(((io.netty.channel.ChannelFuture) f).channel()), counted::addAndGet, counted::addAndGet));
            } else {
              Http2Headers request = new DefaultHttp2Headers().method("POST").path("/v0/test");
              StreamOpener.open(link, request, 5_000).addListener(f -> {
                @SuppressWarnings("unchecked")
                OpenAnswer.Accepted<PeekedConnection> accepted = (OpenAnswer.Accepted<PeekedConnection>) f.getNow();
                Channel stream = accepted.stream().channel();
                stream.pipeline().addFirst(new io.netty.channel.ChannelOutboundHandlerAdapter() {
                  @Override
                  public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
                    if (!promise.isVoid()) {
                      promise.addListener(w -> {
                        if (!w.isSuccess()) {
                          failedStreamWrites.incrementAndGet();
                        }
                      });
                    }
                    ctx.write(msg, promise);
                  }
                });
                listenerStreams.add(stream);
                Splice.start(PeekedConnection.fresh(client), accepted.stream(), counted::addAndGet, counted::addAndGet);
              });
            }
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    servers.add(server);
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  private static io.netty.channel.ChannelFuture connectPlain(int port, io.netty.channel.EventLoop loop) {
    return connectPlain(port, loop, 0);
  }

  private static io.netty.channel.ChannelFuture connectPlain(int port, io.netty.channel.EventLoop loop, int sendBuffer) {
    Bootstrap bootstrap = new Bootstrap();
    if (sendBuffer > 0) {
      bootstrap.option(ChannelOption.SO_SNDBUF, sendBuffer);
    }
    return bootstrap.group(loop).channel(DataPlane.channel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .handler(new ChannelInboundHandlerAdapter())
        .connect("127.0.0.1", port);
  }

  /** A link connection (plain TCP, HTTP/2) to a node-like server whose every stream is answered 200 and spliced to {@code target}. */
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
                stream.pipeline().addLast(new Http2StreamBytes());
                stream.pipeline().addLast(new StreamHead((head, peeked) -> connectPlain(target, stream.eventLoop())
                    .addListener(f -> {
                      stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                      Splice.start(peeked, PeekedConnection.fresh(((io.netty.channel.ChannelFuture) f).channel()), n -> { }, n -> { });
                    }), () -> { }));
                stream.read();
              }
            }));
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
    servers.add(node);
    Channel link = new Bootstrap().group(DataPlane.group()).channel(DataPlane.channel())
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 100)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
          }
        })
        .connect(node.localAddress()).sync().channel();
    Links.raiseConnectionWindow(link, Links.DEFAULT_CONNECTION_WINDOW_BYTES);
    servers.add(link);
    return link;
  }

  @ParameterizedTest(name = "via an HTTP/2 stream: {0}")
  @ValueSource(booleans = {false, true})
  void theClientsHalfCloseTravelsAndTheReplyStillArrives(boolean viaStream) throws Exception {
    byte[] up = random(UP, 1);
    byte[] down = random(DOWN, 2);
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    ServerSocket server = answeringAfterEof(down, received);
    AtomicLong counted = new AtomicLong();
    int port = listener(server.getLocalPort(), viaStream, counted);
    try (Socket client = new Socket("127.0.0.1", port)) {
      OutputStream out = client.getOutputStream();
      out.write(up);
      client.shutdownOutput();
      byte[] reply = client.getInputStream().readAllBytes();
      assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(up);
      assertThat(Arrays.equals(reply, down)).as("reply byte for byte").isTrue();
    }
    assertThat(counted.get()).as("bytes counted as they passed").isEqualTo(UP + DOWN);
  }

  /**
   * The client's FIN has gone out as END_STREAM, then the client resets its connection, and the
   * reset is seen when the reply is written to it: the stream (whose output has ended) is closed,
   * and no write to it is refused.
   */
  @org.junit.jupiter.api.Test
  void aClientThatResetsAfterItsFinClosesTheStreamWithoutAWriteAfterEndStream() throws Exception {
    byte[] up = random(100, 6);
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    CountDownLatch reset = new CountDownLatch(1);
    ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try (server; Socket s = server.accept()) {
        received.complete(s.getInputStream().readAllBytes());
        reset.await(20, TimeUnit.SECONDS);
        s.getOutputStream().write(random(64 * 1024, 7));
        s.getInputStream().read();
      } catch (Exception e) {
        received.completeExceptionally(e);
      }
    });
    t.setDaemon(true);
    t.start();
    int port = listener(server.getLocalPort(), true, new AtomicLong());
    Socket client = new Socket("127.0.0.1", port);
    client.getOutputStream().write(up);
    client.shutdownOutput();
    assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(up);
    client.setSoLinger(true, 0);
    client.close();
    reset.countDown();
    Channel stream = listenerStreams.poll(20, TimeUnit.SECONDS);
    assertThat(stream.closeFuture().await(20, TimeUnit.SECONDS)).as("the stream closed").isTrue();
    assertThat(failedStreamWrites.get()).as("writes refused by the stream (after its END_STREAM)").isZero();
  }

  @ParameterizedTest(name = "via an HTTP/2 stream: {0}")
  @ValueSource(booleans = {false, true})
  void theServersHalfCloseTravelsAndTheClientStillSends(boolean viaStream) throws Exception {
    byte[] greeting = random(70_000, 3);
    byte[] up = random(UP, 4);
    LinkedBlockingQueue<byte[]> got = new LinkedBlockingQueue<>();
    ServerSocket server = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      try (server; Socket s = server.accept()) {
        s.getOutputStream().write(greeting);
        s.shutdownOutput();
        got.add(s.getInputStream().readAllBytes());
      } catch (Exception e) {
        got.add(new byte[0]);
      }
    });
    t.setDaemon(true);
    t.start();
    int port = listener(server.getLocalPort(), viaStream, new AtomicLong());
    try (Socket client = new Socket("127.0.0.1", port)) {
      InputStream in = client.getInputStream();
      ByteArrayOutputStream first = new ByteArrayOutputStream();
      in.transferTo(first);   // EOF: the server's half-close arrived
      assertThat(first.toByteArray()).isEqualTo(greeting);
      client.getOutputStream().write(up);
      client.shutdownOutput();
      assertThat(got.poll(20, TimeUnit.SECONDS)).isEqualTo(up);
    }
  }

  /**
   * The client sends its bytes and its FIN at once; the server half-closes first and reads only
   * later, through small socket buffers, so when both ways have ended the splice still holds some of
   * the client's bytes for the server. Every byte still arrives before the tunnel closes.
   */
  @org.junit.jupiter.api.Test
  void bytesStillQueuedWhenBothWaysHaveEndedAreDelivered() throws Exception {
    byte[] up = random(48 * 1024, 5);
    ServerSocket server = new ServerSocket();
    server.setReceiveBufferSize(4096);
    server.bind(new InetSocketAddress("127.0.0.1", 0));
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    CountDownLatch serverEnded = new CountDownLatch(1);
    Thread t = new Thread(() -> {
      try (server; Socket s = server.accept()) {
        Thread.sleep(300);   // the client's bytes and FIN reach the splice, which cannot pass them all on
        s.shutdownOutput();
        serverEnded.countDown();
        Thread.sleep(300);   // the server's FIN reaches the client: both ways have ended
        received.complete(s.getInputStream().readAllBytes());
      } catch (Exception e) {
        received.completeExceptionally(e);
      }
    });
    t.setDaemon(true);
    t.start();
    int port = listener(server.getLocalPort(), false, new AtomicLong(), 4096);
    try (Socket client = new Socket("127.0.0.1", port)) {
      client.getOutputStream().write(up);
      client.shutdownOutput();
      assertThat(client.getInputStream().read()).as("the server's FIN").isEqualTo(-1);
      assertThat(serverEnded.await(5, TimeUnit.SECONDS)).isTrue();
      byte[] got = received.get(20, TimeUnit.SECONDS);
      assertThat(got.length).as("bytes the server read").isEqualTo(up.length);
      assertThat(Arrays.equals(got, up)).as("every byte the client sent, in order").isTrue();
    }
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  static {
    Unpooled.buffer();  // load Netty before the first test's timer starts
  }
}
