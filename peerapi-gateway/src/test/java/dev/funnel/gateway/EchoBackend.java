package dev.funnel.gateway;

import dev.funnel.common.net.DataPlane;
import io.netty.bootstrap.ServerBootstrap;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local TCP echo server on 127.0.0.1:0 that keeps back-pressure (it reads only while it can
 * write) and answers a FIN with its own once every byte before it is echoed.
 */
final class EchoBackend {

  private Channel server;
  final AtomicInteger accepted = new AtomicInteger();
  final AtomicInteger open = new AtomicInteger();

  Future<Integer> listen() {
    Promise<Integer> bound = Promise.promise();
    new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            accepted.incrementAndGet();
            open.incrementAndGet();
            ch.closeFuture().addListener(f -> open.decrementAndGet());
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.write(msg);
              }

              @Override
              public void channelReadComplete(ChannelHandlerContext ctx) {
                ctx.flush();
                if (!ctx.channel().isWritable()) {
                  ctx.channel().config().setAutoRead(false);
                }
              }

              @Override
              public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                if (ctx.channel().isWritable()) {
                  ctx.channel().config().setAutoRead(true);
                }
              }

              @Override
              public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                  ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                      .addListener(f -> ((DuplexChannel) ctx.channel()).shutdownOutput()
                          .addListener(g -> ctx.close()));
                }
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
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

  void close() {
    if (server != null) {
      server.close();
    }
  }
}
