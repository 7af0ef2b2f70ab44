package dev.funnel.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/**
 * The backend every path reaches, in its own process so its CPU is counted apart from the paths'.
 *
 * <ul>
 *   <li>TLS port: after the handshake the client sends commands of 9 bytes, {@code 'D'} and a
 *       big-endian long {@code n}; the backend answers with {@code n} bytes (written as fast as the
 *       connection takes them) and waits for the next command. Small {@code n} is a request and
 *       response; large {@code n} is a bulk download.</li>
 *   <li>HTTP port (plain HTTP/1.1, keep-alive): every request gets {@code 200} and a short body.</li>
 * </ul>
 *
 * Prints {@code bench backend ready tls=PORT http=PORT} and exits when its stdin closes (the runner died).
 */
final class Backend {

  static final byte DOWNLOAD = 'D';
  static final int COMMAND_BYTES = 9;
  private static final int CHUNK = 64 * 1024;
  private static final byte[] HELLO = "hello from the bench backend\n".getBytes(StandardCharsets.US_ASCII);

  private Backend() {
  }

  static void main(String[] args) throws Exception {
    File chain = new File(args[0]);
    File key = new File(args[1]);
    SslContext tls = Net.server(chain, key);
    ByteBuf chunk = Unpooled.directBuffer(CHUNK);
    byte[] random = new byte[CHUNK];
    new Random(1).nextBytes(random);
    chunk.writeBytes(random);
    ByteBuf payload = Unpooled.unreleasableBuffer(chunk.asReadOnly());

    EventLoopGroup boss = Net.group(1);
    EventLoopGroup workers = Net.group(Runtime.getRuntime().availableProcessors());
    Channel tlsServer = server(boss, workers, new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(tls.newHandler(ch.alloc()), new Commands(payload));
      }
    });
    Channel httpServer = server(boss, workers, new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new HttpServerCodec(), new Hello());
      }
    });
    System.out.println("bench backend ready tls=" + port(tlsServer) + " http=" + port(httpServer)
        + " (" + Net.describe() + ")");
    System.out.flush();
    while (System.in.read() >= 0) {
      // until the runner closes our stdin
    }
    System.exit(0);
  }

  private static Channel server(EventLoopGroup boss, EventLoopGroup workers, ChannelInitializer<SocketChannel> init)
      throws InterruptedException {
    return new ServerBootstrap().group(boss, workers).channel(Net.serverChannel())
        .option(ChannelOption.SO_BACKLOG, 8192)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Net.WATER_MARK)
        .childHandler(init)
        .bind("127.0.0.1", 0).sync().channel();
  }

  private static int port(Channel server) {
    return ((java.net.InetSocketAddress) server.localAddress()).getPort();
  }

  /** The TLS port's command loop. */
  private static final class Commands extends ChannelInboundHandlerAdapter {
    private final ByteBuf payload;
    private final ByteBuf command = Unpooled.buffer(COMMAND_BYTES);
    private long remaining;

    Commands(ByteBuf payload) {
      this.payload = payload;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        while (in.isReadable()) {
          command.writeBytes(in, Math.min(in.readableBytes(), command.writableBytes()));
          if (command.readableBytes() < COMMAND_BYTES) {
            return;
          }
          byte op = command.readByte();
          long n = command.readLong();
          command.clear();
          if (op != DOWNLOAD || n < 0) {
            ctx.close();
            return;
          }
          remaining += n;
        }
      } finally {
        in.release();
      }
      writeMore(ctx);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      writeMore(ctx);
      ctx.fireChannelWritabilityChanged();
    }

    private void writeMore(ChannelHandlerContext ctx) {
      if (remaining == 0) {
        return;
      }
      while (remaining > 0 && ctx.channel().isWritable()) {
        int n = (int) Math.min(remaining, CHUNK);
        remaining -= n;
        ctx.write(payload.retainedSlice(0, n));
      }
      ctx.flush();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** The HTTP port: 200 and a short body for every request, keep-alive as the client asks. */
  private static final class Hello extends SimpleChannelInboundHandler<HttpObject> {
    private boolean keepAlive;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (msg instanceof HttpRequest request) {
        keepAlive = HttpUtil.isKeepAlive(request);
      }
      if (msg instanceof LastHttpContent) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
            Unpooled.wrappedBuffer(HELLO));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain")
            .setInt(HttpHeaderNames.CONTENT_LENGTH, HELLO.length);
        if (keepAlive) {
          ctx.writeAndFlush(response);
        } else {
          ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
