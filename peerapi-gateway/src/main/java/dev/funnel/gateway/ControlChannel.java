package dev.funnel.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * A node's control connection, read on the data plane's loop and handled on the gateway verticle's
 * context: every chunk read is handed over in order, so the verticle keeps its single-threaded
 * state. Starts paused (a login is decided first); while paused, nothing more is read from the
 * socket. A node that stops reading what the gateway writes (Pongs, Welcomes) stops being read
 * too: reading resumes when its connection is writable again, so its flood costs bounded memory.
 */
final class ControlChannel extends ChannelInboundHandlerAdapter {

  private final Channel channel;
  private final Context context;
  /** Context only. */
  private final ArrayDeque<Buffer> pending = new ArrayDeque<>();
  private Consumer<Buffer> handler;
  private Runnable closeHandler = () -> { };
  private boolean paused = true;
  private boolean closed;

  private ControlChannel(Channel channel, Context context) {
    this.channel = channel;
    this.context = context;
  }

  /** Takes over {@code channel}'s reads (its pipeline's last handler); call on its loop. */
  static ControlChannel install(Channel channel, Context context) {
    ControlChannel control = new ControlChannel(channel, context);
    channel.config().setAutoRead(false);
    channel.pipeline().addLast("funnel-control", control);
    return control;
  }

  String remoteAddress() {
    return String.valueOf(channel.remoteAddress()).replaceFirst("^/", "");
  }

  /** Context only. */
  void handler(Consumer<Buffer> handler) {
    this.handler = handler;
  }

  /** Context only; runs once, on the context, when the connection closes. */
  void closeHandler(Runnable closeHandler) {
    this.closeHandler = closeHandler;
    if (closed) {
      closeHandler.run();
    }
  }

  /** Context only: bytes read meanwhile wait (a few at most), and the socket is not read. */
  void pause() {
    paused = true;
    channel.config().setAutoRead(false);
  }

  /** Context only: hands over what waited, then reads on. */
  void resume() {
    paused = false;
    while (!paused && handler != null && !pending.isEmpty()) {
      handler.accept(pending.poll());
    }
    if (!paused) {
      channel.config().setAutoRead(channel.isWritable());
    }
  }

  Future<Void> write(Buffer bytes) {
    Promise<Void> written = Promise.promise();
    channel.writeAndFlush(Unpooled.wrappedBuffer(bytes.getBytes())).addListener(f -> {
      if (f.isSuccess()) {
        written.tryComplete();
      } else {
        written.tryFail(f.cause());
      }
    });
    return written.future();
  }

  void close() {
    channel.close();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf bytes)) {
      io.netty.util.ReferenceCountUtil.release(msg);
      return;
    }
    byte[] copy = new byte[bytes.readableBytes()];
    bytes.readBytes(copy);
    bytes.release();
    Buffer chunk = Buffer.buffer(copy);
    context.runOnContext(v -> {
      if (paused || handler == null) {
        pending.add(chunk);
      } else {
        handler.accept(chunk);
      }
    });
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    boolean writable = ctx.channel().isWritable();
    context.runOnContext(v -> {
      if (!paused) {
        channel.config().setAutoRead(writable);
      }
    });
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    context.runOnContext(v -> {
      closed = true;
      closeHandler.run();
    });
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
