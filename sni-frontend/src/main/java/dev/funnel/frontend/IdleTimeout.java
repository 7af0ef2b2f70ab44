package dev.funnel.frontend;

import static java.lang.System.Logger.Level.DEBUG;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Closes a public connection when nothing was read from it or written to it for the idle timeout,
 * before the splice and after it. This replaces Netty's {@code IdleStateHandler} and a handler that
 * closed on its event. That handler turns every write's void promise into a real one so that it can
 * time when each write completes: a promise and a listener per write on the data path, and two
 * handler contexts per connection. This one notes the time when a write is queued. A client that
 * stops reading also stops the splice's writes, because the splice waits for writability, so a
 * stalled tunnel still times out. Every method runs on the channel's loop.
 */
final class IdleTimeout extends ChannelDuplexHandler implements Runnable {

  private static final System.Logger LOG = System.getLogger(IdleTimeout.class.getName());

  private final long timeoutNanos;
  private ChannelHandlerContext ctx;
  private long lastActivity;
  private Future<?> check;

  IdleTimeout(long timeoutSeconds) {
    this.timeoutNanos = TimeUnit.SECONDS.toNanos(timeoutSeconds);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    lastActivity = System.nanoTime();
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      schedule(timeoutNanos);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    if (check == null) {
      lastActivity = System.nanoTime();
      schedule(timeoutNanos);
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    lastActivity = System.nanoTime();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    lastActivity = System.nanoTime();
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  /** The check, when it is due: close, or look again when the timeout after the last activity is up. */
  @Override
  public void run() {
    check = null;
    if (!ctx.channel().isOpen()) {
      return;
    }
    long idle = System.nanoTime() - lastActivity;
    if (idle >= timeoutNanos) {
      LOG.log(DEBUG, "{0}: idle; closing", ctx.channel().remoteAddress());
      ctx.close();
    } else {
      schedule(timeoutNanos - idle);
    }
  }

  private void schedule(long delayNanos) {
    check = ctx.executor().schedule(this, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void cancel() {
    if (check != null) {
      check.cancel(false);
      check = null;
    }
  }
}
