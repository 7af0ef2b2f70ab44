package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * Splices two channels into one tunnel, as Netty's proxy example does: auto-read off, a read is
 * asked for only while the other side is writable (its outbound buffer below the high-water mark,
 * or for an HTTP/2 stream, its flow-control window open), so a slow reader never makes a fast
 * writer buffer without limit. Half-close is carried each way: the end of one side's input (a TCP
 * FIN, or an HTTP/2 END_STREAM through {@link Http2StreamBytes}) shuts down only the other side's
 * output, after every byte before it is written. When both directions have ended and each one's
 * bytes are all written, or either channel closes, both close (the survivor after flushing, within
 * {@link StreamSplice#CLOSE_GRACE_MILLIS}).
 *
 * <p>The channels may run on different event loops: every handler touches only atomics, and
 * Netty hands a write or a read request to the target channel's own loop. Bytes are counted as
 * they pass ({@link StreamSplice.ByteCounter}), not when the tunnel ends. The atomics are fields updated through
 * {@link VarHandle}s rather than {@code Atomic*} objects: an idle tunnel holds one splice per
 * process it crosses, and five such objects were ~130 B of each (a held cluster, 5,000 idle tunnels).
 *
 * <p>A test fixture since 2026-12-06: production splices a socket with a {@link LinkStreams.End}
 * ({@link StreamSplice}); the tests' fakes of the far side of a link splice Netty child channels
 * with this, so what production sends is always met by an independent implementation. Shared
 * through this module's test-jar.
 */
public final class Splice {

  private Splice() {
  }

  /** {@link #start(PeekedConnection, PeekedConnection, StreamSplice.ByteCounter, StreamSplice.ByteCounter, Pacer, Pacer)}, unpaced. */
  public static Future<StreamSplice.Stats> start(PeekedConnection a, PeekedConnection b, StreamSplice.ByteCounter aToB,
                                                 StreamSplice.ByteCounter bToA) {
    return start(a, b, aToB, bToA, Pacer.NONE, Pacer.NONE);
  }

  /**
   * Splices {@code a} and {@code b}: writes a's peeked bytes to b and b's to a first (and passes on
   * an input end already read), then copies both ways. Both channels must have {@code AUTO_READ}
   * off and no handler that would consume reads after this call; a socket channel must have
   * {@code ALLOW_HALF_CLOSURE} on, an HTTP/2 stream channel an {@link Http2StreamBytes}. Each
   * direction can be paced: after bytes from a are written to b, {@code aPacer} says how long a
   * waits before it is read again.
   *
   * @return completes (on a's loop) when both channels are closed
   */
  public static Future<StreamSplice.Stats> start(PeekedConnection a, PeekedConnection b, StreamSplice.ByteCounter aToB,
                                                 StreamSplice.ByteCounter bToA,
                                    Pacer aPacer, Pacer bPacer) {
    Pair tunnel = new Pair(a.channel(), b.channel());
    tunnel.aToB = new Direction(tunnel, a.channel(), b.channel(), aToB, aPacer);
    tunnel.bToA = new Direction(tunnel, b.channel(), a.channel(), bToA, bPacer);
    DataPlane.countTunnel(a.channel().eventLoop());
    a.channel().closeFuture().addListener(f -> tunnel.closed(tunnel.aToB, tunnel.bToA));
    b.channel().closeFuture().addListener(f -> tunnel.closed(tunnel.bToA, tunnel.aToB));
    tunnel.aToB.begin(a.bytes(), a.inputEnded());
    tunnel.bToA.begin(b.bytes(), b.inputEnded());
    install(a.channel(), tunnel.aToB, tunnel.bToA);
    install(b.channel(), tunnel.bToA, tunnel.aToB);
    return tunnel.done;
  }

  /**
   * On the channel's own loop, so no read slips between the handler before and this one; what an
   * {@link EarlyReads} kept before then goes first.
   */
  private static void install(Channel channel, Direction out, Direction in) {
    Runnable add = () -> {
      if (channel.pipeline().get(StreamSplice.HANDLER_NAME) == null) {
        channel.pipeline().addLast(StreamSplice.HANDLER_NAME, new Leg(out, in));
      }
      EarlyReads early = channel.pipeline().get(EarlyReads.class);
      if (early != null) {
        boolean[] any = new boolean[1];
        boolean ended = early.handOver(chunk -> {
          any[0] = true;
          out.onRead(chunk);
        });
        channel.pipeline().remove(early);
        if (any[0]) {
          out.onReadComplete();
        }
        if (ended) {
          out.inputEnded();
        }
      }
      out.readIfWanted();
    };
    if (channel.eventLoop().inEventLoop()) {
      add.run();
    } else {
      channel.eventLoop().execute(add);
    }
  }

  /** Ends {@code channel}'s output only: TCP shutdownOutput, or END_STREAM on an HTTP/2 stream. */
  static void shutdownOutput(Channel channel) {
    if (channel instanceof Http2StreamChannel) {
      Http2StreamBytes.endOutput(channel);
    } else if (channel instanceof DuplexChannel duplex) {
      duplex.shutdownOutput();
    } else {
      channel.close();
    }
  }

  private static final class Pair {
    private static final VarHandle OPEN;
    private static final VarHandle CLOSING;
    private static final VarHandle GRACE;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        OPEN = lookup.findVarHandle(Pair.class, "open", int.class);
        CLOSING = lookup.findVarHandle(Pair.class, "closing", boolean.class);
        GRACE = lookup.findVarHandle(Pair.class, "grace", ScheduledFuture.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    final Channel a;
    final Channel b;
    final Promise<StreamSplice.Stats> done;
    /** Channels of the two still open (OPEN). */
    private volatile int open = 2;
    /** closeBoth has run (CLOSING). */
    private volatile boolean closing;
    /** The timer that closes what is left after a grace period (GRACE). */
    private volatile ScheduledFuture<?> grace;
    Direction aToB;
    Direction bToA;

    Pair(Channel a, Channel b) {
      this.a = a;
      this.b = b;
      this.done = a.eventLoop().newPromise();
    }

    /** {@code from} closed: what it still sent is on its way; its peer flushes, then closes. */
    void closed(Direction from, Direction towards) {
      from.ended = true;
      towards.ended = true;
      if ((int) OPEN.getAndAdd(this, -1) == 1) {
        cancelGrace();
        done.trySuccess(new StreamSplice.Stats(aToB.bytes, bToA.bytes));
        return;
      }
      Channel other = from.destination;
      if (closing || from.shut) {
        // Nothing more goes to the other side (both are being closed, or its output is already shut
        // after every byte): a flush would be a write after END_STREAM, which an HTTP/2 stream
        // refuses with an exception and its stack trace (~4% of the server's samples per new tunnel).
        other.close();
        return;
      }
      other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      ScheduledFuture<?> earlier = (ScheduledFuture<?>) GRACE.getAndSet(this, other.eventLoop().schedule(() -> {
        other.close();
      }, StreamSplice.CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS));
      if (earlier != null) {
        earlier.cancel(false);
      }
      if (open == 0) {
        cancelGrace();
      }
    }

    private void cancelGrace() {
      ScheduledFuture<?> timer = (ScheduledFuture<?>) GRACE.getAndSet(this, null);
      if (timer != null) {
        timer.cancel(false);
      }
    }

    /** Both ways have ended and every byte of each has been written: nothing is left to carry. */
    void directionEnded() {
      if (aToB.shut && bToA.shut) {
        closeBoth();
      }
    }

    /**
     * Both ways have ended but a way's last bytes may still wait for a reader that never reads:
     * both close within {@link StreamSplice#CLOSE_GRACE_MILLIS} whatever happens (the timer goes with the tunnel).
     */
    void bothEnded() {
      ScheduledFuture<?> timer = a.eventLoop().schedule(this::closeBoth, StreamSplice.CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
      if (!GRACE.compareAndSet(this, null, timer) || open == 0) {
        timer.cancel(false);
      }
    }

    Direction opposite(Direction d) {
      return d == aToB ? bToA : aToB;
    }

    void closeBoth() {
      if (CLOSING.compareAndSet(this, false, true)) {
        a.close();
        b.close();
      }
    }
  }

  /** One way of the tunnel: bytes read from {@code source} are written to {@code destination}. */
  private static final class Direction {
    private static final VarHandle BYTES;
    private static final VarHandle ENDED;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        BYTES = lookup.findVarHandle(Direction.class, "bytes", long.class);
        ENDED = lookup.findVarHandle(Direction.class, "ended", boolean.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    final Pair tunnel;
    final Channel source;
    final Channel destination;
    final StreamSplice.ByteCounter counter;
    final Pacer pacer;
    /** Bytes carried this way (BYTES). */
    volatile long bytes;
    /** This way carries nothing more: its source ended or a channel closed (ENDED). */
    volatile boolean ended;
    /** The source's end has been passed on: every byte before it written, the destination's output shut. */
    volatile boolean shut;
    /** The source waits for its pacer: a writability change must not read it before the wait is over. */
    volatile boolean pacing;
    /** Bytes read since the last read-complete (source's loop only). */
    long batch;

    Direction(Pair tunnel, Channel source, Channel destination, StreamSplice.ByteCounter counter, Pacer pacer) {
      this.tunnel = tunnel;
      this.source = source;
      this.destination = destination;
      this.counter = counter;
      this.pacer = pacer;
    }

    /** Writes what was peeked from the source, and passes on an input end already read. */
    void begin(ByteBuf peeked, boolean inputEnded) {
      if (peeked.isReadable()) {
        long n = peeked.readableBytes();
        BYTES.getAndAdd(this, n);
        counter.add(n);
        destination.writeAndFlush(peeked);
      } else {
        peeked.release();
      }
      if (inputEnded) {
        inputEnded();
      }
    }

    void onRead(ByteBuf chunk) {
      if (ended) {
        chunk.release();
        return;
      }
      int n = chunk.readableBytes();
      BYTES.getAndAdd(this, (long) n);
      counter.add(n);
      batch += n;
      destination.write(chunk, destination.voidPromise());
    }

    /** After a batch of reads: flush, then read on when the destination has room (and no pacing wait). */
    void onReadComplete() {
      long wait = batch > 0 ? pacer.delayNanos(batch) : 0;
      batch = 0;
      // The wait begins before the flush: a flush that drains the destination fires its writability
      // change at once on a shared loop, and that must not read the source early.
      pacing = wait > 0;
      destination.flush();
      if (wait > 0) {
        source.eventLoop().schedule(() -> {
          pacing = false;
          readIfWanted();
        }, wait, TimeUnit.NANOSECONDS);
        return;
      }
      readIfWanted();
    }

    /**
     * Reads the source once more if nothing holds it back. Decided on the source's own loop: a
     * writability change of the destination comes on the destination's loop, and deciding there
     * could read a source whose pacing wait has just begun.
     */
    void readIfWanted() {
      if (!source.eventLoop().inEventLoop()) {
        source.eventLoop().execute(this::readIfWanted);
        return;
      }
      if (!pacing && !ended && destination.isWritable() && source.isActive()) {
        source.read();
      }
    }

    /** The source sends nothing more: shut the destination's output once what came before is written. */
    void inputEnded() {
      if (!ENDED.compareAndSet(this, false, true)) {
        return;
      }
      if (tunnel.opposite(this).ended) {
        tunnel.bothEnded();
      }
      destination.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
        if (!written.isSuccess()) {
          tunnel.closeBoth();
          return;
        }
        if (tunnel.opposite(this).shut && !(destination instanceof Http2StreamChannel)) {
          // The other way is over too (its bytes all written, and the destination's input read to
          // its end): a close sends the same FIN without a shutdown first (which costs Netty an
          // exception with its stack trace per socket: 5% of the node's CPU per new tunnel, profiled).
          shut = true;
          tunnel.closeBoth();
          return;
        }
        shutdownOutput(destination);
        shut = true;
        tunnel.directionEnded();
      });
    }
  }

  /** The handler on each channel: reads of its outgoing direction, writability of its incoming one. */
  private static final class Leg extends ChannelInboundHandlerAdapter {
    private final Direction out;
    private final Direction in;

    Leg(Direction out, Direction in) {
      this.out = out;
      this.in = in;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf chunk) {
        out.onRead(chunk);
      } else {
        ReferenceCountUtil.release(msg);   // trailing HEADERS of a stream: its END_STREAM comes as an event
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      out.onReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        in.readIfWanted();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        out.inputEnded();
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      out.tunnel.closeBoth();
    }
  }
}
