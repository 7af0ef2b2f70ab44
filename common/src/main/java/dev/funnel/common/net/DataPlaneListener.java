package dev.funnel.common.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.net.InetSocketAddress;

/**
 * A TCP listener on the {@link DataPlane}'s loops (accepted connections spread over every loop,
 * TCP_NODELAY on), bound and closed through Vert.x futures so a verticle can compose them.
 */
public final class DataPlaneListener {

  private final Channel server;

  private DataPlaneListener(Channel server) {
    this.server = server;
  }

  /** Binds {@code at}; each accepted connection gets {@code childHandler} (a ChannelInitializer, typically). */
  public static Future<DataPlaneListener> bind(HostPort at, ChannelHandler childHandler) {
    Promise<DataPlaneListener> bound = Promise.promise();
    new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(childHandler)
        .bind(at.host(), at.port())
        .addListener((ChannelFuture f) -> {
          if (f.isSuccess()) {
            bound.complete(new DataPlaneListener(f.channel()));
          } else {
            bound.fail(f.cause());
          }
        });
    return bound.future();
  }

  /** The port bound (useful when asked for 0). */
  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Stops accepting; connections already accepted stay open. */
  public Future<Void> close() {
    Promise<Void> closed = Promise.promise();
    server.close().addListener(f -> closed.tryComplete());
    return closed.future();
  }
}
