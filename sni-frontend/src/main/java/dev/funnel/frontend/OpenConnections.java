package dev.funnel.frontend;

import dev.funnel.common.ops.Drain;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The public connections a frontend admitted (Netty's group forgets a closed one) and how many of its
 * tunnels have not ended yet ({@link FrontendConnection.Shared#spliced}): what a drain closes when its
 * time is up, then waits for. Shared by every loop.
 */
final class OpenConnections {

  /** After a drain closed the connections still open, how long their tunnels get to end (their streams reset). */
  static final long CLOSED_TUNNELS_MILLIS = 2_000;

  private final ChannelGroup connections = new DefaultChannelGroup("public-connections", GlobalEventExecutor.INSTANCE);
  private final AtomicInteger spliced = new AtomicInteger();

  /** A connection was admitted (on its listener's loop, before it is registered anywhere). */
  void admitted(Channel child) {
    connections.add(child);
  }

  /** The count of tunnels whose access line is not written yet. */
  AtomicInteger spliced() {
    return spliced;
  }

  /**
   * The drain's time is up: closes every public connection still open, now (what is still queued
   * toward a client is not sent: its transfer is cut; its splice resets the node's stream), then
   * waits up to {@link #CLOSED_TUNNELS_MILLIS} for their tunnels to end, so that each gets its
   * access line, with the bytes the client's socket took, before the process goes on to stop.
   * Until 2026-12-08 nothing closed them: in {@code funnel server} they went on through the
   * gateway's drain (twice the drain time), and the process's exit then cut them without a line, or
   * dropped the tail a finished download still had queued toward its client.
   */
  Future<Void> closeAll(Vertx vertx) {
    Promise<Void> closed = Promise.promise();
    connections.close().addListener(f -> closed.tryComplete());
    return closed.future().compose(v -> Drain.awaitZero(vertx, spliced::get, CLOSED_TUNNELS_MILLIS)).mapEmpty();
  }
}
