package dev.funnel.common.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * HTTP/2 PING keepalive for a link connection: any byte read proves the peer alive; after
 * {@code pingInterval} of silence a PING goes out (Netty's codec acks the peer's own), and after
 * {@code deadAfter} of silence the connection is closed, so a peer whose packets a NAT dropped
 * is found and its streams fail over instead of waiting. Sits between the TLS handler and the
 * HTTP/2 codec; its PING is written from the pipeline's tail so the codec frames it.
 *
 * <p>While a stream opened on the link awaits its answer ({@link #awaitingAnswer}), the link is
 * probed faster: a PING goes out at once and every {@code answerProbe} after while any answer is
 * outstanding, and a probe with nothing read since it went out closes the connection. A live peer
 * acks a PING in a round trip whatever its application does, so this is never an answer deadline;
 * it finds a link that went silent within one or two probes of the first offer sent into it, and
 * the offers on it, closed with it, are offered again on another link ({@link OpenAnswer.Unanswered},
 * retryable) instead of waiting out the offer timeout.
 */
final class LinkKeepalive extends ChannelInboundHandlerAdapter {

  private static final System.Logger LOG = System.getLogger(LinkKeepalive.class.getName());

  private final long pingIntervalNanos;
  private final long deadAfterNanos;
  private final long answerProbeNanos;
  private final Runnable onDead;
  private long lastReadNanos = System.nanoTime();
  private ScheduledFuture<?> timer;
  /** Streams opened on this link whose answer has not come yet. */
  private int awaiting;
  /** The probe under way while {@link #awaiting} > 0, and when its PING went out. */
  private ScheduledFuture<?> probe;
  private long probeSentNanos;

  LinkKeepalive(long pingIntervalMillis, long deadAfterMillis, long answerProbeMillis, Runnable onDead) {
    this.pingIntervalNanos = TimeUnit.MILLISECONDS.toNanos(pingIntervalMillis);
    this.deadAfterNanos = TimeUnit.MILLISECONDS.toNanos(deadAfterMillis);
    this.answerProbeNanos = TimeUnit.MILLISECONDS.toNanos(answerProbeMillis);
    this.onDead = onDead;
  }

  /** A stream opened on this link now awaits its answer (on the link's loop). */
  void awaitingAnswer(ChannelHandlerContext ctx) {
    awaiting++;
    if (probe == null && timer != null) {
      startProbe(ctx);
    }
  }

  /** A stream counted by {@link #awaitingAnswer} got its answer, or gave up (on the link's loop). */
  void answered() {
    if (awaiting > 0) {
      awaiting--;
    }
  }

  private void startProbe(ChannelHandlerContext ctx) {
    probeSentNanos = System.nanoTime();
    ctx.channel().writeAndFlush(new DefaultHttp2PingFrame(probeSentNanos));
    probe = ctx.executor().schedule(() -> probeDue(ctx), answerProbeNanos, TimeUnit.NANOSECONDS);
  }

  private void probeDue(ChannelHandlerContext ctx) {
    probe = null;
    if (timer == null) {
      return;
    }
    if (lastReadNanos - probeSentNanos < 0) {
      LOG.log(System.Logger.Level.INFO, "link to " + ctx.channel().remoteAddress() + " read nothing within "
          + TimeUnit.NANOSECONDS.toMillis(answerProbeNanos) + " ms of a PING while " + awaiting
          + " offer(s) awaited an answer; closing it");
      dead(ctx);
    } else if (awaiting > 0) {
      startProbe(ctx);
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    long tick = Math.max(1, pingIntervalNanos / 2);
    timer = ctx.executor().scheduleAtFixedRate(() -> check(ctx), tick, tick, TimeUnit.NANOSECONDS);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    lastReadNanos = System.nanoTime();
    ctx.fireChannelRead(msg);
  }

  private void check(ChannelHandlerContext ctx) {
    long silent = System.nanoTime() - lastReadNanos;
    if (silent >= deadAfterNanos) {
      LOG.log(System.Logger.Level.INFO, "link to " + ctx.channel().remoteAddress() + " silent for "
          + TimeUnit.NANOSECONDS.toMillis(silent) + " ms; closing it");
      dead(ctx);
    } else if (silent >= pingIntervalNanos) {
      ctx.channel().writeAndFlush(new DefaultHttp2PingFrame(System.nanoTime()));
    }
  }

  private void dead(ChannelHandlerContext ctx) {
    cancel();
    onDead.run();
    ctx.channel().close();
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (probe != null) {
      probe.cancel(false);
      probe = null;
    }
  }
}
