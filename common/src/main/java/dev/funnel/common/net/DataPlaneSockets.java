package dev.funnel.common.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.internal.SocketUtils;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * The data plane's NIO TCP sockets: Netty's, with a half-close that does not cost an exception.
 *
 * <p>Netty's {@code shutdownOutput} builds a {@code ChannelOutputShutdownException}, with its stack
 * trace, for every call (it fails the writes still queued with it). A tunnel half-closes a socket
 * each time one side ends first, deep in a write listener's stack: 4.7 % of the node's CPU in the
 * new-tunnel phase went to filling in that trace (async-profiler, 2026-12-05). When nothing is
 * queued there is nothing to fail, so {@link Socket} shuts the socket's output itself and fires the
 * same {@link ChannelOutputShutdownEvent}; otherwise (or off the channel's loop, or when the JDK
 * refuses) it is Netty's path. A half-close asked from the listener of the last write (how a splice
 * asks it) looks again in a task of its own: until that listener returns Netty still counts the
 * write as pending, and until 2026-12-07 such a call always took Netty's path (7 % of the node's
 * CPU in the new-tunnel phase, async-profiler). Nothing in Funnel writes to a socket after shutting
 * its output, so the one difference (such a write would fail at the socket, not at once) is never
 * met.
 */
public final class DataPlaneSockets {

  private DataPlaneSockets() {
  }

  /** A dialled or accepted TCP socket of the data plane (NIO). */
  public static final class Socket extends NioSocketChannel {

    public Socket() {
    }

    Socket(Channel parent, SocketChannel socket) {
      super(parent, socket);
    }

    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
      return shutdownOutput(promise, true);
    }

    private ChannelFuture shutdownOutput(ChannelPromise promise, boolean mayWait) {
      ChannelOutboundBuffer queued = unsafe().outboundBuffer();
      if (!eventLoop().inEventLoop() || queued == null || isOutputShutdown()) {
        return super.shutdownOutput(promise);
      }
      if (!nothingQueued(queued)) {
        if (mayWait && queued.isEmpty()) {
          // Called from the listener of the last flushed write (a splice half-closes that way): that
          // write still counts as pending until its listeners return. Look again once they have.
          eventLoop().execute(() -> shutdownOutput(promise, false));
          return promise;
        }
        return super.shutdownOutput(promise);
      }
      try {
        javaChannel().shutdownOutput();
      } catch (IOException | RuntimeException refused) {
        return super.shutdownOutput(promise);   // it fails the promise the way Netty says it
      }
      promise.trySuccess();
      pipeline().fireUserEventTriggered(ChannelOutputShutdownEvent.INSTANCE);
      return promise;
    }

    /**
     * No bytes waiting, flushed or not ({@code isEmpty} counts flushed messages only). An unflushed
     * write of zero bytes is not seen: it would wait for the close instead of failing at once.
     */
    private static boolean nothingQueued(ChannelOutboundBuffer queued) {
      return queued.isEmpty() && queued.totalPendingWriteBytes() == 0;
    }
  }

  /** A listening socket whose accepted connections are {@link Socket}s. */
  public static final class Listener extends NioServerSocketChannel {

    public Listener() {
    }

    @Override
    protected int doReadMessages(List<Object> accepted) throws Exception {
      SocketChannel socket = SocketUtils.accept(javaChannel());
      if (socket == null) {
        return 0;
      }
      try {
        accepted.add(new Socket(this, socket));
        return 1;
      } catch (Throwable t) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing a socket we could not wrap: nothing more to do
        }
        throw t;
      }
    }
  }
}
