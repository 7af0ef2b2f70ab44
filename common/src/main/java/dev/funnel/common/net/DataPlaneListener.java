package dev.funnel.common.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.nio.NioChannelOption;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP listener on the {@link DataPlane}'s loops, bound and closed through Vert.x futures so a
 * verticle can compose them.
 *
 * <p>{@link #bindEveryLoop} binds one listening socket per loop, all on one port with
 * {@code SO_REUSEPORT}, each accepting on its own loop and keeping what it accepts there: the
 * kernel spreads new connections over the sockets, and no accepted connection is handed to another
 * thread (one Netty listener on a group accepts on one loop and registers each child on the next
 * loop in turn, so half the connections of a 2-loop group crossed threads before their first read:
 * a task and a wake-up each). Where the kernel does not spread connections over such sockets (not
 * Linux) or the group has one loop, it is one listener on the group. A second process binding the
 * same port with {@code SO_REUSEPORT} would share its connections silently, so before binding a
 * fixed port it is probed with a plain bind: taken (by anything, this process's listeners too) is
 * "Address already in use", as with one socket.
 */
public final class DataPlaneListener {

  private final List<Channel> sockets;

  private DataPlaneListener(List<Channel> sockets) {
    this.sockets = List.copyOf(sockets);
  }

  /** Binds {@code at}; each accepted connection gets {@code childHandler} (a ChannelInitializer, typically). */
  public static Future<DataPlaneListener> bind(HostPort at, ChannelHandler childHandler) {
    return bindEveryLoop(new ServerBootstrap()
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(childHandler), at);
  }

  /**
   * Binds {@code at} on every loop (see the class comment): {@code template} is a
   * {@code ServerBootstrap} with its options and handlers set and no group nor channel type; each
   * listening socket gets a clone of it.
   */
  public static Future<DataPlaneListener> bindEveryLoop(ServerBootstrap template, HostPort at) {
    List<EventLoop> loops = DataPlane.loops();
    if (loops.size() == 1 || !spreadsAccepts()) {
      return bindOne(template.clone().group(DataPlane.group()).channel(DataPlane.serverChannel()), at)
          .map(socket -> new DataPlaneListener(List.of(socket)));
    }
    if (at.port() != 0) {
      try {
        probe(at);
      } catch (IOException taken) {
        return Future.failedFuture(taken);
      }
    }
    return bindOne(onLoop(template, loops.get(0)), at).compose(first -> {
      HostPort same = new HostPort(at.host(), ((InetSocketAddress) first.localAddress()).getPort());
      List<Future<Channel>> rest = new ArrayList<>();
      for (EventLoop loop : loops.subList(1, loops.size())) {
        rest.add(bindOne(onLoop(template, loop), same));
      }
      // join, not all: every bind has ended before a failure closes the ones that succeeded
      return Future.join(rest).transform(done -> {
        List<Channel> bound = new ArrayList<>();
        bound.add(first);
        rest.stream().filter(Future::succeeded).map(Future::result).forEach(bound::add);
        DataPlaneListener listener = new DataPlaneListener(bound);
        return done.succeeded() ? Future.succeededFuture(listener)
            : listener.close().transform(closed -> Future.<DataPlaneListener>failedFuture(done.cause()));
      });
    });
  }

  /** The port bound (useful when asked for 0). */
  public int port() {
    return ((InetSocketAddress) sockets.get(0).localAddress()).getPort();
  }

  /** The listening sockets (one per loop, or one). */
  public List<Channel> sockets() {
    return sockets;
  }

  /** Stops accepting; connections already accepted stay open. */
  public Future<Void> close() {
    List<Future<Void>> closed = new ArrayList<>();
    for (Channel socket : sockets) {
      Promise<Void> done = Promise.promise();
      socket.close().addListener(f -> done.tryComplete());
      closed.add(done.future());
    }
    return Future.all(closed).mapEmpty();
  }

  private static ServerBootstrap onLoop(ServerBootstrap template, EventLoop loop) {
    return template.clone()
        .group(loop, loop)
        .channel(DataPlane.serverChannel())
        .option(reusePort(), true);
  }

  @SuppressWarnings("unchecked")
  private static ChannelOption<Boolean> reusePort() {
    return DataPlane.epoll() ? EpollChannelOption.SO_REUSEPORT
        : (ChannelOption<Boolean>) (ChannelOption<?>) NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT);
  }

  private static Future<Channel> bindOne(ServerBootstrap bootstrap, HostPort at) {
    Promise<Channel> bound = Promise.promise();
    bootstrap.bind(at.host(), at.port()).addListener((ChannelFuture f) -> {
      if (f.isSuccess()) {
        bound.complete(f.channel());
      } else {
        bound.fail(f.cause());
      }
    });
    return bound.future();
  }

  /** Throws "Address already in use" when something listens on {@code at} (a plain bind, closed at once). */
  static void probe(HostPort at) throws IOException {
    try (ServerSocketChannel probe = ServerSocketChannel.open()) {
      probe.bind(new InetSocketAddress(at.host(), at.port()), 1);
    } catch (BindException e) {
      throw new BindException(e.getMessage() + ": " + at);
    }
  }

  /** True where sockets sharing a port with SO_REUSEPORT each get a share of its connections (Linux). */
  private static boolean spreadsAccepts() {
    if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      return false;
    }
    try (ServerSocketChannel probe = ServerSocketChannel.open()) {
      return probe.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT);
    } catch (IOException e) {
      return false;
    }
  }
}
