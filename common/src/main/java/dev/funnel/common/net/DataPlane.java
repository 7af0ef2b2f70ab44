package dev.funnel.common.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import jdk.net.ExtendedSocketOptions;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.concurrent.atomic.LongAdder;

/**
 * The event loops every byte of the data plane moves on: public listeners, the gateway's node and
 * frontend links, the node's streams and local dials. One group per process, one thread per core
 * by default ({@code --event-loops N} sets it through {@link #configure}), made on first use; the
 * control plane stays on Vert.x's own loops. Accepts are spread over every loop of the group.
 *
 * <p>Each loop counts the tunnels it carried ({@link #tunnelsCarried}), so a dashboard shows
 * whether the load spreads over every core.
 *
 * <p>Transport: the JDK's NIO by default; {@code -Dfunnel.transport=epoll} runs the plane on
 * Linux's native epoll where Netty's library loads, its handler wrapped by {@link StaleEventGuard}
 * (Netty delivers a closed socket's pending event to a new socket that reused its number within
 * one batch); a dialled socket keeps what epoll reads before its splice in {@link EarlyReads}.
 * Vert.x's own loops (the control plane, the terminator) stay on NIO: see {@code FunnelVertx}.
 */
public final class DataPlane {

  private static final System.Logger LOG = System.getLogger(DataPlane.class.getName());

  private static int configured;
  private static EventLoopGroup group;
  private static Map<EventExecutor, Integer> indexOf;
  private static LongAdder[] tunnels;
  private static List<Consumer<EventLoopGroup>> whenMade = new ArrayList<>();
  private static final boolean EPOLL = chooseEpoll();

  private DataPlane() {
  }

  /**
   * Sets the number of loops, before the group is first used (later calls with another number are
   * ignored with a log line). 0 or less: one per core.
   */
  public static synchronized void configure(int eventLoops) {
    if (group != null) {
      if (eventLoops > 0 && eventLoops != tunnels.length) {
        LOG.log(System.Logger.Level.INFO, "data plane already runs on " + tunnels.length + " event loops; keeping them");
      }
      return;
    }
    configured = eventLoops;
  }

  /** The data plane's loops (made on first use; daemon threads, alive for the process). */
  public static synchronized EventLoopGroup group() {
    if (group == null) {
      int loops = configured > 0 ? configured : Runtime.getRuntime().availableProcessors();
      IoHandlerFactory io = EPOLL ? StaleEventGuard.factory() : NioIoHandler.newFactory();
      group = new MultiThreadIoEventLoopGroup(loops, new DefaultThreadFactory("funnel-data", true), io);
      Map<EventExecutor, Integer> index = new IdentityHashMap<>();
      int i = 0;
      for (EventExecutor loop : group) {
        index.put(loop, i++);
      }
      indexOf = index;
      tunnels = new LongAdder[loops];
      for (int t = 0; t < loops; t++) {
        tunnels[t] = new LongAdder();
      }
      List<Consumer<EventLoopGroup>> waiting = whenMade;
      whenMade = null;
      waiting.forEach(action -> action.accept(group));
    }
    return group;
  }

  /**
   * Runs {@code action} with the group once it exists: now if it does, else when it is first made
   * (a process that never moves a byte, a registry, never makes it). For probes that must not make
   * the group themselves.
   */
  public static synchronized void whenMade(Consumer<EventLoopGroup> action) {
    if (group != null) {
      action.accept(group);
    } else {
      whenMade.add(action);
    }
  }

  /** The loops, in the order of their index (makes the group if it does not exist yet). */
  public static List<EventLoop> loops() {
    List<EventLoop> all = new ArrayList<>();
    for (EventExecutor loop : group()) {
      all.add((EventLoop) loop);
    }
    return all;
  }

  /** The number of loops (makes the group if it does not exist yet). */
  public static int eventLoops() {
    group();
    return tunnels.length;
  }

  public static Class<? extends ServerChannel> serverChannel() {
    return EPOLL ? EpollServerSocketChannel.class : DataPlaneSockets.Listener.class;
  }

  public static Class<? extends Channel> channel() {
    return EPOLL ? EpollSocketChannel.class : DataPlaneSockets.Socket.class;
  }

  /** The channel type for a Unix domain socket client on these loops. */
  public static Class<? extends Channel> domainSocketChannel() {
    return EPOLL ? EpollDomainSocketChannel.class : NioDomainSocketChannel.class;
  }

  /** The address {@link #domainSocketChannel()} connects to for the socket file {@code path}. */
  public static SocketAddress domainSocketAddress(Path path) {
    return EPOLL ? new DomainSocketAddress(path.toFile()) : UnixDomainSocketAddress.of(path);
  }

  /** True for an address made by {@link #domainSocketAddress}. */
  public static boolean isDomainSocket(SocketAddress address) {
    return address instanceof DomainSocketAddress || address instanceof UnixDomainSocketAddress;
  }

  /** True when the data plane runs on native epoll. */
  public static boolean epoll() {
    return EPOLL;
  }

  /**
   * Sets TCP keepalive timing on an accepted or dialled TCP channel of this plane (SO_KEEPALIVE
   * must be on already): idle seconds before the first probe, seconds between probes, probes.
   * Throws where the platform has no such options.
   */
  public static void keepAliveTiming(Channel channel, int idleSeconds, int intervalSeconds, int probes) {
    if (channel instanceof EpollSocketChannel) {
      channel.config().setOption(EpollChannelOption.TCP_KEEPIDLE, idleSeconds);
      channel.config().setOption(EpollChannelOption.TCP_KEEPINTVL, intervalSeconds);
      channel.config().setOption(EpollChannelOption.TCP_KEEPCNT, probes);
    } else if (channel instanceof NioSocketChannel) {
      channel.config().setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idleSeconds);
      channel.config().setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), intervalSeconds);
      channel.config().setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), probes);
    }
  }

  /**
   * Puts TCP keepalive timing (as {@link #keepAliveTiming}) on a listener's socket instead, where
   * Linux copies it to every socket the listener accepts: three {@code setsockopt}s fewer per
   * connection (about 1 % of a frontend's CPU per new tunnel). True when it did so (NIO on Linux,
   * where the JDK takes these options on a listening socket); false when each accepted channel
   * still needs {@link #keepAliveTiming} (epoll's listener takes no such option). SO_KEEPALIVE
   * itself is a socket-level flag the JDK refuses on a listener: set it as a child option.
   */
  public static boolean keepAliveTimingOnListener(ServerBootstrap listener, int idleSeconds, int intervalSeconds,
                                                  int probes) {
    if (EPOLL || !System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
      return false;
    }
    listener.option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idleSeconds)
        .option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), intervalSeconds)
        .option(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), probes);
    return true;
  }

  /** For the start-up log. */
  public static String describe() {
    return eventLoops() + " event loop(s), " + (EPOLL ? "epoll" : "NIO");
  }

  private static boolean chooseEpoll() {
    String asked = System.getProperty("funnel.transport", "nio");
    if (!asked.equalsIgnoreCase("epoll")) {
      return false;
    }
    boolean available = Epoll.isAvailable();
    if (!available) {
      LOG.log(System.Logger.Level.WARNING, "-Dfunnel.transport=epoll: epoll is unavailable here ({0}); the data plane runs on NIO",
          String.valueOf(Epoll.unavailabilityCause()));
    }
    return available;
  }

  /**
   * {@code loop} when it is one of the data plane's loops, else the group's next: a channel of
   * {@link #channel()} can only be registered on these (an epoll channel needs an epoll loop).
   */
  public static EventLoop own(EventLoop loop) {
    EventLoopGroup loops = group();
    return loop != null && indexOf.containsKey(loop) ? loop : loops.next();
  }

  /** The index of {@code loop} among the data plane's loops (as in its metrics' {@code loop} label); −1 for another. */
  public static int loopIndex(EventExecutor loop) {
    Map<EventExecutor, Integer> index = indexOf;
    Integer i = index == null ? null : index.get(loop);
    return i == null ? -1 : i;
  }

  /** Tunnels carried so far by loop {@code index} (0 ≤ index < {@link #eventLoops()}). */
  public static long tunnelsCarried(int index) {
    group();
    return tunnels[index].sum();
  }

  /** Counts one tunnel on {@code loop} (the loop its client-side channel runs on). */
  public static void countTunnel(EventLoop loop) {
    Map<EventExecutor, Integer> index = indexOf;
    Integer i = index == null ? null : index.get(loop);
    if (i != null) {
      tunnels[i].increment();
    }
  }
}
