package dev.funnel.node;

import dev.funnel.common.net.DataPlane;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A local backend on 127.0.0.1:0 that counts what it reads until the client's FIN (half-close on),
 * then answers "got N bytes, then FIN" and ends its own output.
 */
final class HalfCloseBackend {

  private Channel server;
  private volatile boolean finWhileOpen;

  Future<Integer> listen() {
    Promise<Integer> bound = Promise.promise();
    new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              private long count;

              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf bytes = (ByteBuf) msg;
                count += bytes.readableBytes();
                bytes.release();
              }

              @Override
              public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                  finWhileOpen = ctx.channel().isActive();
                  ctx.writeAndFlush(Unpooled.copiedBuffer("got " + count + " bytes, then FIN", StandardCharsets.US_ASCII))
                      .addListener(f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
                }
                ctx.fireUserEventTriggered(evt);
              }
            });
          }
        })
        .bind("127.0.0.1", 0)
        .addListener((ChannelFuture f) -> {
          if (f.isSuccess()) {
            server = f.channel();
            bound.complete(((InetSocketAddress) server.localAddress()).getPort());
          } else {
            bound.fail(f.cause());
          }
        });
    return bound.future();
  }

  boolean sawFinWhileOpen() {
    return finWhileOpen;
  }

  void close() {
    if (server != null) {
      server.close();
    }
  }
}
