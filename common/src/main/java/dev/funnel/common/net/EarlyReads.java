package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The first handler of a dialled socket on its way to a splice: keeps, in order, whatever
 * the socket reads before the splice takes over, and whether its input ended. {@link StreamSplice} finds
 * it, removes it and passes on what it kept.
 *
 * <p>Why: {@code AUTO_READ} off does not mean "nothing is read" on every transport. On epoll, a peer
 * that sends and half-closes (EPOLLRDHUP) makes Netty read the socket without a {@code read()}
 * request; a socket whose splice is installed by a task on its loop (a hop between the dial and the
 * splice) would have those bytes and the input end dropped by the pipeline's tail. NIO reads only
 * when asked. Bounded by what one read loop takes (the socket's receive buffer at most).
 */
public final class EarlyReads extends ChannelInboundHandlerAdapter {

  private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
  private boolean inputEnded;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf chunk) {
      held.add(chunk);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      inputEnded = true;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    release();   // only what was not handed over (the channel closed, or nobody took it)
  }

  /** Hands each kept chunk to {@code chunks}, in order; true when the input had ended. Loop only. */
  boolean handOver(Consumer<ByteBuf> chunks) {
    ByteBuf chunk;
    while ((chunk = held.poll()) != null) {
      chunks.accept(chunk);
    }
    return inputEnded;
  }

  private void release() {
    ByteBuf chunk;
    while ((chunk = held.poll()) != null) {
      chunk.release();
    }
  }
}
