package dev.funnel.node;

import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.tls.ClientHello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Peeks at the ClientHello of an accepted offer's stream, to learn which ALPN protocols the client
 * offers, without consuming anything: the bytes read travel on with the stream (a new
 * {@link PeekedConnection}) and reach the local target first, byte for byte. The frontend has
 * already read a whole ClientHello, so it usually came with the offer; otherwise the stream is read
 * until the shared parser ({@link ClientHello#parse}) decides, under {@link #MAX_HELLO_BYTES} and
 * {@link #DEADLINE_MILLIS}. Whatever the outcome (not TLS, malformed, too slow, ended), the stream
 * is handed on with an empty protocol list and the local target decides; only a stream that closes
 * is dropped. Runs on the stream's loop.
 */
final class HelloPeek extends ChannelInboundHandlerAdapter {

  static final String NAME = "funnel-hello-peek";
  static final int MAX_HELLO_BYTES = 16 * 1024;
  static final long DEADLINE_MILLIS = 5_000;

  private final BiConsumer<PeekedConnection, List<String>> onDecided;
  private CompositeByteBuf bytes;
  private boolean inputEnded;
  private boolean done;
  private ScheduledFuture<?> deadline;

  private HelloPeek(BiConsumer<PeekedConnection, List<String>> onDecided) {
    this.onDecided = onDecided;
  }

  /** The ALPN protocols {@code bytes} offer, or null while the parser needs more. */
  static List<String> protocols(ByteBuf bytes, boolean inputEnded) {
    ClientHello.Result result = ClientHello.parse(bytes, MAX_HELLO_BYTES);
    if (result instanceof ClientHello.Found found) {
      return found.protocols();
    }
    if (result instanceof ClientHello.NoSni noSni) {
      return noSni.protocols();
    }
    if (result instanceof ClientHello.NeedMore && !inputEnded) {
      return null;
    }
    return List.of();
  }

  /** Calls {@code onDecided} with the stream (all bytes peeked so far) and the protocols its ClientHello offers. */
  static void peek(PeekedConnection stream, BiConsumer<PeekedConnection, List<String>> onDecided) {
    List<String> now = protocols(stream.bytes(), stream.inputEnded());
    if (now != null) {
      onDecided.accept(stream, now);
      return;
    }
    Channel channel = stream.channel();
    HelloPeek peek = new HelloPeek(onDecided);
    peek.bytes = channel.alloc().compositeBuffer();
    peek.bytes.addComponent(true, stream.bytes());
    channel.pipeline().addLast(NAME, peek);
    peek.deadline = channel.eventLoop().schedule(() -> peek.decide(channel, List.of()), DEADLINE_MILLIS,
        TimeUnit.MILLISECONDS);
    channel.read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!done && msg instanceof ByteBuf chunk) {
      bytes.addComponent(true, chunk);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      inputEnded = true;
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (done) {
      return;
    }
    List<String> protocols = protocols(bytes, inputEnded);
    if (protocols == null && bytes.readableBytes() > 2 * MAX_HELLO_BYTES) {
      protocols = List.of();
    }
    if (protocols != null) {
      decide(ctx.channel(), protocols);
    } else {
      ctx.read();
    }
  }

  private void decide(Channel channel, List<String> protocols) {
    if (done) {
      return;
    }
    done = true;
    deadline.cancel(false);
    channel.pipeline().remove(this);
    onDecided.accept(new PeekedConnection(channel, bytes, inputEnded), protocols);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!done) {
      done = true;
      deadline.cancel(false);
      bytes.release();
    }
    ctx.fireChannelInactive();
  }
}
