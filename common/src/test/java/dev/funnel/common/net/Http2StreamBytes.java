package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;

/**
 * Makes an HTTP/2 stream channel read and write like a TCP socket, so one {@link Splice} serves
 * both: a DATA frame's payload is read as a plain {@code ByteBuf}, END_STREAM (on DATA or on
 * trailing HEADERS) is read as {@link ChannelInputShutdownEvent} (TCP's FIN), a {@code ByteBuf}
 * written goes out as a DATA frame, and {@link #endOutput} sends END_STREAM (TCP's shutdownOutput).
 * HEADERS frames pass through (the offer and its answer are read before the splice); a RST_STREAM
 * closes the channel. Flow control stays Netty's: a frame's bytes are returned to the peer's window
 * when this channel reads it, which the splice does only while the other side is writable.
 *
 * <p>A test fixture since 2026-12-06 (production reads a stream with {@link LinkStreams}), for the tests' fakes
 * of the far side of a link.
 */
public final class Http2StreamBytes extends ChannelDuplexHandler {

  public static final String NAME = "funnel-stream-bytes";

  /** Sends END_STREAM on {@code stream}: the peer reads the end of input, and may still send. */
  public static ChannelFuture endOutput(Channel stream) {
    return stream.writeAndFlush(new DefaultHttp2DataFrame(true));
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Http2DataFrame data) {
      boolean end = data.isEndStream();
      ByteBuf content = data.content();
      if (content.isReadable()) {
        ctx.fireChannelRead(content);
      } else {
        content.release();
      }
      if (end) {
        ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      }
    } else if (msg instanceof Http2HeadersFrame headers) {
      ctx.fireChannelRead(headers);
      if (headers.isEndStream()) {
        ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      }
    } else if (msg instanceof Http2ResetFrame) {
      ctx.close();
    } else {
      ctx.fireChannelRead(msg);
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf bytes) {
      ctx.write(new DefaultHttp2DataFrame(bytes), promise);
    } else {
      ctx.write(msg, promise);
    }
  }
}
