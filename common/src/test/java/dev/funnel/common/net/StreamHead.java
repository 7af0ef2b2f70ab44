package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.function.BiConsumer;

/**
 * Reads the first HEADERS of an HTTP/2 stream (an offer, an open, or the answer to either), then
 * gets out of the way: the bytes that came with it in the same read (DATA right behind the head,
 * even END_STREAM) are kept, and the stream is handed on as a {@link PeekedConnection} with its
 * head. Sits behind {@link Http2StreamBytes}; the stream's AUTO_READ is off, so after the hand-off
 * nothing more is read until the next owner asks. If the stream closes first, {@code onClosed} runs.
 *
 * <p>A test fixture since 2026-12-06 (production reads a stream with {@link LinkStreams}), for the tests' fakes
 * of the far side of a link.
 */
public final class StreamHead extends ChannelInboundHandlerAdapter {

  public static final String NAME = "funnel-stream-head";

  private final BiConsumer<Http2Headers, PeekedConnection> onHead;
  private final Runnable onClosed;
  private Http2Headers head;
  private CompositeByteBuf early;
  private boolean inputEnded;
  private boolean done;

  public StreamHead(BiConsumer<Http2Headers, PeekedConnection> onHead, Runnable onClosed) {
    this.onHead = onHead;
    this.onClosed = onClosed;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (done) {
      ctx.fireChannelRead(msg);
    } else if (head == null && msg instanceof Http2HeadersFrame frame) {
      head = frame.headers();
    } else if (head != null && msg instanceof ByteBuf bytes) {
      if (early == null) {
        early = ctx.alloc().compositeBuffer();
      }
      early.addComponent(true, bytes);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (!done && evt instanceof ChannelInputShutdownEvent) {
      inputEnded = true;
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (done) {
      ctx.fireChannelReadComplete();
      return;
    }
    if (head == null) {
      if (inputEnded) {
        ctx.close();
      } else {
        ctx.read();
      }
      return;
    }
    done = true;
    ctx.pipeline().remove(this);
    ByteBuf bytes = early == null ? ctx.alloc().buffer(0) : early;
    onHead.accept(head, new PeekedConnection((Http2StreamChannel) ctx.channel(), bytes, inputEnded));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!done) {
      done = true;
      if (early != null) {
        early.release();
      }
      onClosed.run();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
