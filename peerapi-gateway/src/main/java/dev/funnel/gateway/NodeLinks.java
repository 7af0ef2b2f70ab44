package dev.funnel.gateway;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.concurrent.EventExecutor;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the data plane knows of one node session: its identity, its secret, the link connections
 * (HTTP/2, this gateway the client) the node dialled under it, and the tunnels it carries. Read
 * and changed from any data-plane loop and the verticle's context, so every field is safe to share.
 */
final class NodeLinks {

  final String sessionId;
  final String nodeId;
  final long epoch;
  private final String dataSecret;
  private final CopyOnWriteArrayList<Channel> connections = new CopyOnWriteArrayList<>();
  /** Opens in progress plus accepted tunnels not yet closed. */
  final AtomicInteger tunnels = new AtomicInteger();
  private volatile boolean ended;
  /** Where {@link #pick}'s scan starts next (ties go round). */
  private final AtomicInteger turn = new AtomicInteger();
  /** The loop of each link connection placed and not closed yet, one entry each; guarded by this. */
  private final List<EventExecutor> linkLoops = new ArrayList<>();
  /** Opens waiting for a first live link connection (a session just logged in, or redialling); guarded by this. */
  private final List<Runnable> waiting = new ArrayList<>();

  NodeLinks(String sessionId, String nodeId, long epoch, String dataSecret) {
    this.sessionId = sessionId;
    this.nodeId = nodeId;
    this.epoch = epoch;
    this.dataSecret = dataSecret;
  }

  boolean acceptsSecret(String presented) {
    return presented != null && MessageDigest.isEqual(dataSecret.getBytes(StandardCharsets.UTF_8),
        presented.getBytes(StandardCharsets.UTF_8));
  }

  /** Adds a link connection unless the session ended or holds {@code max} already. */
  boolean add(Channel connection, int max) {
    synchronized (this) {
      if (ended || connections.size() >= max) {
        return false;
      }
      connections.add(connection);
    }
    connection.closeFuture().addListener(f -> connections.remove(connection));
    whenStreamsClose(connection);
    wake();
    return true;
  }

  /**
   * Each time a stream leaves the connection's count, an ended session's connection closes if it
   * was the last. The count, not the tunnel's end, decides: a stream leaves it only once its last
   * frame (END_STREAM or RST_STREAM) is written, which a consolidated flush may do a loop turn later.
   */
  private void whenStreamsClose(Channel connection) {
    Http2FrameCodec codec = connection.pipeline().get(Http2FrameCodec.class);
    if (codec == null) {
      return;
    }
    connection.eventLoop().execute(() -> codec.connection().addListener(new Http2ConnectionAdapter() {
      @Override
      public void onStreamClosed(Http2Stream stream) {
        streamEnded(connection);
      }
    }));
  }

  /**
   * Runs {@code waiter} once a live link connection may be there: at once if one is (or the
   * session ended), else when the next one is added or the session ends. A waiter that gives up
   * first takes itself back with {@link #stopWaiting}.
   */
  void whenLinked(Runnable waiter) {
    synchronized (this) {
      if (!ended && pick(null) == null) {
        waiting.add(waiter);
        return;
      }
    }
    waiter.run();
  }

  synchronized void stopWaiting(Runnable waiter) {
    waiting.remove(waiter);
  }

  /** Runs every waiter, outside the lock. */
  private void wake() {
    List<Runnable> woken;
    synchronized (this) {
      woken = List.copyOf(waiting);
      waiting.clear();
    }
    woken.forEach(Runnable::run);
  }

  int size() {
    return connections.size();
  }

  /**
   * The loop a link connection accepted on {@code accepted} should run on, among the data plane's
   * {@code loops}, recorded until {@link #releaseLoop}: where it is, unless another loop carries
   * fewer of this session's links (the accept order puts two of a node's links on one loop about
   * one time in four with two loops, and clients on the other then find none on their own).
   */
  synchronized EventLoop placeLink(EventLoop accepted, List<EventLoop> loops) {
    int at = loops.indexOf(accepted);
    EventLoop chosen = accepted;
    if (at >= 0) {
      int[] placed = new int[loops.size()];
      for (int i = 0; i < placed.length; i++) {
        placed[i] = Collections.frequency(linkLoops, loops.get(i));
      }
      chosen = loops.get(placement(placed, at));
    }
    linkLoops.add(chosen);
    return chosen;
  }

  /** A link connection placed on {@code loop} closed. */
  synchronized void releaseLoop(EventExecutor loop) {
    linkLoops.remove(loop);
  }

  /**
   * The decision of {@link #placeLink}, pure: {@code placed[i]} is how many of the session's links
   * loop i runs; a link accepted on loop {@code at} stays unless another carries fewer (then the
   * first of the fewest).
   */
  static int placement(int[] placed, int at) {
    int fewest = at;
    for (int i = 0; i < placed.length; i++) {
      if (placed[i] < placed[fewest]) {
        fewest = i;
      }
    }
    return fewest;
  }

  boolean ended() {
    return ended;
  }

  /**
   * How many more streams than the least loaded connection one on the caller's own loop may carry
   * and still be chosen: a tunnel whose client and stream share a loop is spliced without a task
   * handed between threads for every write and read, while the spread over loops still follows the
   * clients' (accepted round the loops) once streams pile up.
   */
  static final int SAME_LOOP_SLACK = 32;

  /** {@link #pick(Channel, EventExecutor)} without a loop to prefer. */
  Channel pick(Channel avoid) {
    return pick(avoid, null);
  }

  /**
   * The live connection for a new stream, other than {@code avoid}; null when there is none (no
   * link up, or the session ended). One on {@code near} (the client's loop) unless it carries more
   * than {@link #SAME_LOOP_SLACK} streams above the least loaded; else the least loaded. Ties go
   * round the connections in turn: opens that come at once all read the counts before any of their
   * streams exists (a stream is created on its connection's loop), and would otherwise all land on
   * the first connection, so on one loop.
   */
  Channel pick(Channel avoid, EventExecutor near) {
    if (ended) {
      return null;
    }
    Object[] all = connections.toArray();
    int[] streams = new int[all.length];
    boolean[] onNear = new boolean[all.length];
    for (int i = 0; i < all.length; i++) {
      Channel c = (Channel) all[i];
      streams[i] = c == avoid || !c.isActive() ? -1 : activeStreams(c);
      onNear[i] = near != null && c.eventLoop() == near;
    }
    int chosen = choose(streams, onNear, all.length == 0 ? 0 : Math.floorMod(turn.getAndIncrement(), all.length));
    return chosen < 0 ? null : (Channel) all[chosen];
  }

  /**
   * The decision of {@link #pick}, pure: {@code streams[i]} is connection i's open streams (−1: not
   * a candidate), {@code onNear[i]} whether it runs on the caller's loop, {@code start} where the
   * scan for the least loaded begins (ties go to the first seen). −1 when there is no candidate.
   */
  static int choose(int[] streams, boolean[] onNear, int start) {
    int best = -1;
    int nearest = -1;
    for (int k = 0; k < streams.length; k++) {
      int i = (start + k) % streams.length;
      if (streams[i] < 0) {
        continue;
      }
      if (best < 0 || streams[i] < streams[best]) {
        best = i;
      }
      if (onNear[i] && (nearest < 0 || streams[i] < streams[nearest])) {
        nearest = i;
      }
    }
    return nearest >= 0 && streams[nearest] <= streams[best] + SAME_LOOP_SLACK ? nearest : best;
  }

  /** The session ended: no new tunnels; connections close once they carry no stream. */
  void end() {
    List<Channel> open;
    synchronized (this) {   // with add(): a link accepted as the session ends is in this list, or refused
      ended = true;
      open = List.copyOf(connections);
    }
    for (Channel c : open) {
      closeIfIdle(c);
    }
    wake();
  }

  /** A stream left {@code connection}'s count: close it if the session is gone and it is idle. */
  private void streamEnded(Channel connection) {
    if (ended) {
      closeIfIdle(connection);
    }
  }

  List<Channel> connections() {
    return List.copyOf(connections);
  }

  private static void closeIfIdle(Channel connection) {
    connection.eventLoop().execute(() -> {
      if (activeStreams(connection) == 0) {
        connection.close();
      }
    });
  }

  /** Streams open on a link connection (a racy read off its loop is good enough to choose). */
  static int activeStreams(Channel connection) {
    Http2FrameCodec codec = connection.pipeline().get(Http2FrameCodec.class);
    return codec == null ? 0 : codec.connection().numActiveStreams();
  }
}
