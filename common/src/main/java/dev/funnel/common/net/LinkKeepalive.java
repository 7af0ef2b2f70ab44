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
 */
final class LinkKeepalive extends ChannelInboundHandlerAdapter {

  private static final System.Logger LOG = System.getLogger(LinkKeepalive.class.getName());

  private final long pingIntervalNanos;
  private final long deadAfterNanos;
  private final Runnable onDead;
  private long lastReadNanos = System.nanoTime();
  private ScheduledFuture<?> timer;

  LinkKeepalive(long pingIntervalMillis, long deadAfterMillis, Runnable onDead) {
    this.pingIntervalNanos = TimeUnit.MILLISECONDS.toNanos(pingIntervalMillis);
    this.deadAfterNanos = TimeUnit.MILLISECONDS.toNanos(deadAfterMillis);
    this.onDead = onDead;
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
      cancel();
      onDead.run();
      ctx.channel().close();
    } else if (silent >= pingIntervalNanos) {
      ctx.channel().writeAndFlush(new DefaultHttp2PingFrame(System.nanoTime()));
    }
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }
}
