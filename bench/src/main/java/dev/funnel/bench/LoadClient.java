package dev.funnel.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The load generator: real TLS connections (OpenSSL, the path's SNI name, certificate and name
 * verified, no session resumption) over Netty's epoll transport. Every operation is bounded in
 * count and time.
 */
final class LoadClient implements AutoCloseable {

  /** Where a path is entered: always 127.0.0.1, with the SNI name the path routes on. */
  record Target(int port, String serverName, SslContext tls) {
  }

  /** One connection's timeline in {@link System#nanoTime()} (0 = did not happen). */
  static final class Conn {
    long start;
    long helloSent;
    long firstByte;
    long handshaken;
    long requested;
    long lastByte;
    long received;
    Channel channel;

    /** ClientHello sent → first byte back from the server: what the path adds before TLS can proceed. */
    long setupNanos() {
      return firstByte - helloSent;
    }
  }

  /** Successful connections and how many failed (with one example reason). */
  record Batch(List<Conn> done, int failed, String firstFailure, long elapsedNanos) {

    /** Bytes the successful connections received. */
    long bytesReceived() {
      return done.stream().mapToLong(c -> c.received).sum();
    }

    /** Download rate of the batch: every byte received, from the first request to the last byte. */
    double mibPerSecond() {
      long first = done.stream().mapToLong(c -> c.requested).min().orElse(0);
      long last = done.stream().mapToLong(c -> c.lastByte).max().orElse(0);
      return Stats.mibPerSecond(bytesReceived(), last - first);
    }
  }

  /**
   * Connections come from 127.0.0.2 … 127.0.0.65 in turn, like many clients rather than one: an
   * ingress that limits each source address (Funnel's frontend does, 20 new connections per second
   * and 256 open by default) sees 64 moderate sources, not one abusive one.
   */
  static final int SOURCES = 64;

  private final EventLoopGroup group;
  private final Bootstrap bootstrap;
  private final AtomicInteger nextSource = new AtomicInteger();

  LoadClient(int threads) {
    group = Net.group(threads);
    bootstrap = new Bootstrap().group(group).channel(Net.socketChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, Net.WATER_MARK);
  }

  /**
   * Connects, completes a full handshake, asks the backend for {@code bytes} and reads them; then
   * closes, unless {@code keepOpen} (the channel is then in {@link Conn#channel}).
   */
  CompletableFuture<Conn> exchange(Target target, long bytes, boolean keepOpen, long timeoutMillis) {
    Conn conn = new Conn();
    CompletableFuture<Conn> done = new CompletableFuture<>();
    Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new Timing(conn),
            target.tls().newHandler(ch.alloc(), target.serverName(), 443),
            new Download(conn, bytes, keepOpen, done));
      }
    });
    conn.start = System.nanoTime();
    b.connect(new InetSocketAddress("127.0.0.1", target.port()), nextSource()).addListener(f -> {
      if (!f.isSuccess()) {
        done.completeExceptionally(f.cause());
        return;
      }
      Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
      conn.channel = ch;
      ch.eventLoop().schedule(() -> {
        if (done.completeExceptionally(new TimeoutException("no complete answer within " + timeoutMillis + " ms"
            + " (" + conn.received + " of " + bytes + " bytes)"))) {
          ch.close();
        }
      }, timeoutMillis, TimeUnit.MILLISECONDS);
    });
    return done;
  }

  private InetSocketAddress nextSource() {
    return new InetSocketAddress("127.0.0." + (2 + Math.floorMod(nextSource.getAndIncrement(), SOURCES)), 0);
  }

  /** Runs {@code count} operations, at most {@code concurrency} at a time; waits at most {@code timeoutMillis}. */
  Batch many(int count, int concurrency, long timeoutMillis, Supplier<CompletableFuture<Conn>> operation)
      throws InterruptedException {
    return many(count, concurrency, Long.MAX_VALUE, timeoutMillis, operation);
  }

  /**
   * As {@link #many(int, int, long, Supplier)}, but starts no new operation after {@code budgetMillis}:
   * a slow path then runs fewer operations instead of taking minutes (the rate stays exact).
   */
  Batch many(int count, int concurrency, long budgetMillis, long timeoutMillis,
             Supplier<CompletableFuture<Conn>> operation) throws InterruptedException {
    List<Conn> done = Collections.synchronizedList(new ArrayList<>(count));
    AtomicInteger started = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    String[] firstFailure = {null};
    CountDownLatch finished = new CountDownLatch(count);
    long budgetEnd = budgetMillis == Long.MAX_VALUE ? Long.MAX_VALUE
        : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(budgetMillis);
    Runnable[] next = new Runnable[1];
    next[0] = () -> {
      if (System.nanoTime() > budgetEnd) {
        // Out of time: the operations never started count as finished, not as failed.
        int skipped = count - Math.min(count, started.getAndSet(count + 1));
        for (int i = 0; i < skipped; i++) {
          finished.countDown();
        }
        return;
      }
      if (started.incrementAndGet() > count) {
        return;
      }
      operation.get().whenComplete((conn, err) -> {
        if (err != null) {
          failed.incrementAndGet();
          synchronized (firstFailure) {
            if (firstFailure[0] == null) {
              firstFailure[0] = String.valueOf(err);
            }
          }
        } else {
          done.add(conn);
        }
        finished.countDown();
        next[0].run();
      });
    };
    long start = System.nanoTime();
    for (int i = 0; i < Math.min(concurrency, count); i++) {
      next[0].run();
    }
    if (!finished.await(timeoutMillis, TimeUnit.MILLISECONDS)) {
      started.set(count + 1);
      int missing = (int) finished.getCount();
      return new Batch(new ArrayList<>(done), failed.get() + missing,
          "batch not finished within " + timeoutMillis + " ms", System.nanoTime() - start);
    }
    long elapsed = System.nanoTime() - start;
    synchronized (done) {
      return new Batch(new ArrayList<>(done), failed.get(), firstFailure[0], elapsed);
    }
  }

  /**
   * HTTP/1.1 keep-alive load: {@code connections} TLS connections each sending GET requests one
   * after another for {@code warmSeconds + seconds}; only responses completed in the last
   * {@code seconds} count, so connection and tunnel setup are not part of the figure.
   */
  record HttpResult(double requestsPerSecond, long responses, long errors, int connections) {
  }

  HttpResult http(Target target, int connections, double warmSeconds, double seconds, long timeoutMillis)
      throws InterruptedException {
    AtomicLong responses = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    CountDownLatch finished = new CountDownLatch(connections);
    long start = System.nanoTime();
    long windowStart = start + (long) (warmSeconds * 1e9);
    long deadline = windowStart + (long) (seconds * 1e9);
    for (int i = 0; i < connections; i++) {
      httpConnection(target, windowStart, deadline, responses, errors, finished);
    }
    if (!finished.await(timeoutMillis, TimeUnit.MILLISECONDS)) {
      errors.addAndGet(finished.getCount());
    }
    return new HttpResult(responses.get() / seconds, responses.get(), errors.get(), connections);
  }

  /** One client's keep-alive connection; when the server closes it before the deadline, the client reconnects. */
  private void httpConnection(Target target, long windowStart, long deadline, AtomicLong responses, AtomicLong errors,
                              CountDownLatch finished) {
    Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(target.tls().newHandler(ch.alloc(), target.serverName(), 443),
            new HttpClientCodec(), new HttpLoop(target.serverName(), windowStart, deadline, responses, errors));
      }
    });
    b.connect(new InetSocketAddress("127.0.0.1", target.port()), nextSource()).addListener(f -> {
      if (!f.isSuccess()) {
        errors.incrementAndGet();
        finished.countDown();
        return;
      }
      ((io.netty.channel.ChannelFuture) f).channel().closeFuture().addListener(c -> {
        if (System.nanoTime() < deadline) {
          httpConnection(target, windowStart, deadline, responses, errors, finished);
        } else {
          finished.countDown();
        }
      });
    });
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
  }

  /** First in the pipeline: sees the raw TLS bytes, so it times the ClientHello and the first answer byte. */
  private static final class Timing extends ChannelDuplexHandler {
    private final Conn conn;

    Timing(Conn conn) {
      this.conn = conn;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
      if (conn.helloSent == 0 && msg instanceof ByteBuf buf && buf.isReadable()) {
        conn.helloSent = System.nanoTime();
      }
      super.write(ctx, msg, promise);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      if (conn.firstByte == 0) {
        conn.firstByte = System.nanoTime();
      }
      super.channelRead(ctx, msg);
    }
  }

  /** After the handshake: one command, then count the answer's bytes. */
  private static final class Download extends ChannelInboundHandlerAdapter {
    private final Conn conn;
    private final long bytes;
    private final boolean keepOpen;
    private final CompletableFuture<Conn> done;

    Download(Conn conn, long bytes, boolean keepOpen, CompletableFuture<Conn> done) {
      this.conn = conn;
      this.bytes = bytes;
      this.keepOpen = keepOpen;
      this.done = done;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent hs) {
        if (!hs.isSuccess()) {
          fail(ctx, hs.cause());
          return;
        }
        conn.handshaken = System.nanoTime();
        ByteBuf command = ctx.alloc().buffer(Backend.COMMAND_BYTES);
        command.writeByte(Backend.DOWNLOAD).writeLong(bytes);
        conn.requested = System.nanoTime();
        ctx.writeAndFlush(command);
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      conn.received += in.readableBytes();
      in.release();
      if (conn.received >= bytes && conn.lastByte == 0) {
        conn.lastByte = System.nanoTime();
        if (keepOpen) {
          done.complete(conn);
        } else {
          ctx.close().addListener(f -> done.complete(conn));
        }
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (!done.isDone()) {
        done.completeExceptionally(new IllegalStateException("closed by the path after " + conn.received + " of "
            + bytes + " bytes" + (conn.handshaken == 0 ? ", before the handshake completed" : "")));
      }
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(ctx, cause);
    }

    private void fail(ChannelHandlerContext ctx, Throwable cause) {
      done.completeExceptionally(cause);
      ctx.close();
    }
  }

  /** Sends GET after GET on one connection until the deadline, counting complete 200 responses in the window. */
  private static final class HttpLoop extends ChannelInboundHandlerAdapter {
    private final String host;
    private final long windowStart;
    private final long deadline;
    private final AtomicLong responses;
    private final AtomicLong errors;
    private boolean ok;

    HttpLoop(String host, long windowStart, long deadline, AtomicLong responses, AtomicLong errors) {
      this.host = host;
      this.windowStart = windowStart;
      this.deadline = deadline;
      this.responses = responses;
      this.errors = errors;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent hs) {
        if (hs.isSuccess()) {
          send(ctx);
        } else {
          errors.incrementAndGet();
          ctx.close();
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    private void send(ChannelHandlerContext ctx) {
      FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
      request.headers().set(HttpHeaderNames.HOST, host).set(HttpHeaderNames.USER_AGENT, "funnel-bench");
      ctx.writeAndFlush(request);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof HttpResponse response) {
          ok = response.status().code() == 200;
        }
        if (msg instanceof LastHttpContent) {
          long now = System.nanoTime();
          if (!ok) {
            errors.incrementAndGet();
          } else if (now >= windowStart && now < deadline) {
            responses.incrementAndGet();
          }
          if (now < deadline) {
            send(ctx);
          } else {
            ctx.close();
          }
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      errors.incrementAndGet();
      ctx.close();
    }
  }
}
