package dev.funnel.common.net;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Splices two sockets into one tunnel: bytes both ways with back-pressure, and half-close carried
 * through (a client that shuts down its write side still receives the reply).
 *
 * <p>Why not {@code pipeTo}: Vert.x 5.0's public {@code NetSocket} has no half-close. Netty closes a
 * channel at EOF unless {@code ALLOW_HALF_CLOSURE} is set, and {@code NetSocket.end()} closes both
 * directions. So {@link #prepare} (the only place in Funnel touching Vert.x internals) sets that
 * option and turns the end of input (a TCP FIN, or a TLS close_notify) into an empty buffer read,
 * which travels through Vert.x's ordinary inbound queue behind the data before it. TCP and TLS
 * reads never deliver an empty buffer otherwise. On that marker the splice shuts down only the other
 * socket's output, after every byte before it is written. Back-pressure is {@code pipeTo}'s: pause
 * the source while the destination's write queue is full, resume on drain.
 *
 * <p>On a TLS socket the half-close is a TCP FIN under the TLS stream, not a close_notify: Netty's
 * OpenSSL engine closes its own output as soon as it reads a close_notify, so a node that got one
 * could not send the reply any more. The end of the stream is still authenticated end to end: what
 * a tunnel carries is always the public client's own TLS stream, with its own close_notify, so a
 * forged FIN on the gateway ⇄ node leg can truncate no more than one on the public leg can. A peer
 * that still ends with a close_notify (an older Funnel) is understood as before.
 */
public final class Tunnel {

  /** Byte counts of a finished tunnel, {@code a → b} and {@code b → a}. */
  public record Stats(long aToB, long bToA) {
  }

  /** After one side closes, how long the other may take to flush before it is closed regardless. */
  public static final long CLOSE_GRACE_MILLIS = 30_000;

  private static final String HANDLER_NAME = "funnel-half-close";

  private Tunnel() {
  }

  /**
   * Lets {@code socket} carry half-close. Call as soon as the socket exists (accepted or
   * connected), before its input can end. From then on an empty buffer delivered to the socket's
   * handler means "the peer will send nothing more" (the socket stays open for writing).
   */
  public static void prepare(NetSocket socket) {
    if (!(socket instanceof NetSocketInternal internal)) {
      return;
    }
    ChannelHandlerContext vertxHandler = internal.channelHandlerContext();
    Channel channel = vertxHandler.channel();
    channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    Runnable install = () -> {
      ChannelPipeline pipeline = channel.pipeline();
      if (pipeline.get(HANDLER_NAME) == null && pipeline.context(vertxHandler.handler()) != null) {
        pipeline.addBefore(vertxHandler.name(), HANDLER_NAME, new InputEndDetector());
      }
    };
    if (channel.eventLoop().inEventLoop()) {
      install.run();
    } else {
      channel.eventLoop().execute(install);
    }
  }

  /** True for the marker a {@link #prepare prepared} socket delivers when its input has ended. */
  public static boolean isInputEnd(Buffer buffer) {
    return buffer.length() == 0;
  }

  /**
   * Splices {@code a} and {@code b}: writes {@code toB} to b and {@code toA} to a first, then copies
   * both ways until both directions have ended; then closes both. Both sockets must be
   * {@link #prepare prepared}, and paused or not yet read from (bytes already queued while paused
   * are carried). Replaces their handler, end, drain and exception handlers, never their close handlers.
   *
   * @return completes when both sockets are closed, with the bytes carried each way (prefixes included)
   */
  public static Future<Stats> splice(NetSocket a, Buffer toB, NetSocket b, Buffer toA) {
    return splice(a, toB, b, toA, Pacer.NONE, Pacer.NONE);
  }

  /**
   * As {@link #splice(NetSocket, Buffer, NetSocket, Buffer)}, each direction paced: after bytes
   * from a are written to b, {@code aToB} says how long a stays paused before it is read again (and
   * {@code bToA} the same the other way). The prefixes are not paced. Back-pressure still applies: a
   * source resumes only when its pacing wait is over and its destination's write queue has room.
   */
  public static Future<Stats> splice(NetSocket a, Buffer toB, NetSocket b, Buffer toA, Pacer aToB, Pacer bToA) {
    return new Splice(a, b, aToB, bToA).start(toB, toA);
  }

  /** Turns the end of input into an empty read, in order after the data before it. */
  private static final class InputEndDetector extends ChannelInboundHandlerAdapter {
    private boolean ended;

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (!ended && (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent)) {
        ended = true;
        ctx.fireChannelRead(Unpooled.EMPTY_BUFFER);
        ctx.fireChannelReadComplete();
      }
      super.userEventTriggered(ctx, evt);
    }
  }

  private static final class Splice {
    private final NetSocket a;
    private final NetSocket b;
    private final Direction aToB;
    private final Direction bToA;
    private final Promise<Stats> done = Promise.promise();
    private final AtomicInteger openChannels = new AtomicInteger(2);
    private final AtomicBoolean closing = new AtomicBoolean();
    private final AtomicReference<ScheduledFuture<?>> grace = new AtomicReference<>();

    Splice(NetSocket a, NetSocket b, Pacer aToBPacer, Pacer bToAPacer) {
      this.a = a;
      this.b = b;
      this.aToB = new Direction(this, a, b, aToBPacer);
      this.bToA = new Direction(this, b, a, bToAPacer);
    }

    Future<Stats> start(Buffer toB, Buffer toA) {
      watchClose(a, b);
      watchClose(b, a);
      a.exceptionHandler(err -> closeBoth());
      b.exceptionHandler(err -> closeBoth());
      if (toB != null && toB.length() > 0) {
        aToB.bytes.addAndGet(toB.length());
        b.write(toB);
      }
      if (toA != null && toA.length() > 0) {
        bToA.bytes.addAndGet(toA.length());
        a.write(toA);
      }
      aToB.wire();
      bToA.wire();
      a.resume();
      b.resume();
      return done.future();
    }

    /**
     * When {@code closed}'s channel closes, let whatever it still queues (and its end) flow to
     * {@code other}, and close {@code other} after a grace period if it never drains.
     */
    private void watchClose(NetSocket closed, NetSocket other) {
      Channel channel = ((NetSocketInternal) closed).channelHandlerContext().channel();
      channel.closeFuture().addListener(f -> {
        closed.resume();
        if (openChannels.decrementAndGet() == 0) {
          cancelGrace();
          done.tryComplete(new Stats(aToB.bytes.get(), bToA.bytes.get()));
          return;
        }
        // The timer holds this splice (both sockets and their buffers) until it fires: cancelled as
        // soon as the other side closes too, so a closed tunnel is garbage at once, not 30 s later.
        Channel otherChannel = ((NetSocketInternal) other).channelHandlerContext().channel();
        grace.set(otherChannel.eventLoop().schedule(this::closeBoth, CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS));
        if (openChannels.get() == 0) {
          cancelGrace();
        }
      });
    }

    private void cancelGrace() {
      ScheduledFuture<?> timer = grace.getAndSet(null);
      if (timer != null) {
        timer.cancel(false);
      }
    }

    void directionEnded() {
      if (aToB.ended.get() && bToA.ended.get()) {
        closeBoth();
      }
    }

    void closeBoth() {
      if (closing.compareAndSet(false, true)) {
        a.close();
        b.close();
      }
    }
  }

  private static final class Direction {
    private final Splice splice;
    private final NetSocket source;
    private final NetSocket destination;
    private final Pacer pacer;
    final AtomicLong bytes = new AtomicLong();
    final AtomicBoolean ended = new AtomicBoolean();
    /** The source waits for its pacer: a drain must not resume it before the wait is over. */
    private volatile boolean pacing;

    Direction(Splice splice, NetSocket source, NetSocket destination, Pacer pacer) {
      this.splice = splice;
      this.source = source;
      this.destination = destination;
      this.pacer = pacer;
    }

    void wire() {
      destination.drainHandler(v -> {
        if (!pacing) {
          source.resume();
        }
      });
      source.handler(this::onData);
      source.endHandler(v -> onSourceClosed());
    }

    private void onData(Buffer data) {
      if (isInputEnd(data)) {
        halfClose();
        return;
      }
      if (ended.get()) {
        return;
      }
      bytes.addAndGet(data.length());
      destination.write(data);
      long wait = pacer.delayNanos(data.length());
      if (wait > 0) {
        pacing = true;
        source.pause();
        Channel channel = ((NetSocketInternal) source).channelHandlerContext().channel();
        channel.eventLoop().schedule(this::paced, wait, TimeUnit.NANOSECONDS);
      } else if (destination.writeQueueFull()) {
        source.pause();
      }
    }

    /** The pacing wait is over: read on, unless the destination is still full (its drain resumes then). */
    private void paced() {
      pacing = false;
      if (!destination.writeQueueFull()) {
        source.resume();
      }
    }

    /** The source stopped sending but may still read: shut only the destination's output, after its queued bytes. */
    private void halfClose() {
      if (!ended.compareAndSet(false, true)) {
        return;
      }
      destination.write(Buffer.buffer()).onComplete(written -> {
        if (written.failed()) {
          splice.closeBoth();
          return;
        }
        Channel channel = ((NetSocketInternal) destination).channelHandlerContext().channel();
        channel.eventLoop().execute(() -> shutdownOutput(channel));
        splice.directionEnded();
      });
    }

    /** The source closed: nothing more comes from it and nothing can go back; close once flushed. */
    private void onSourceClosed() {
      ended.set(true);
      destination.write(Buffer.buffer()).onComplete(written -> splice.closeBoth());
    }

    /** TCP shutdownOutput, under TLS too (see the class comment for why not close_notify). */
    private static void shutdownOutput(Channel channel) {
      if (channel instanceof DuplexChannel duplex) {
        duplex.shutdownOutput();
      } else {
        channel.close();
      }
    }
  }
}
