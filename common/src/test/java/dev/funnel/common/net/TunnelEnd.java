package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The frontend's end of an opened tunnel, for tests: reads everything the node sends (the bytes
 * peeked with the answer first) until the end of input, and writes a payload in chunks only while
 * the channel is writable (as the splice does), then optionally ends its output (half-close).
 * Shared through this module's test-jar by node-agent's and peerapi-gateway's tests.
 */
public final class TunnelEnd extends ChannelInboundHandlerAdapter {

  private static final int CHUNK = 16 * 1024;

  public final Channel channel;
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();
  private final Promise<byte[]> inputEnded = Promise.promise();
  private final Promise<Void> closed = Promise.promise();
  /** Bytes handed to the channel so far. */
  public final AtomicLong written = new AtomicLong();
  private final AtomicLong receivedCount = new AtomicLong();
  private byte[] payload;
  private int offset;
  private boolean endAfter;
  private boolean ending;

  private TunnelEnd(Channel channel) {
    this.channel = channel;
  }

  /** Takes over {@code connection} (its AUTO_READ is off and nothing reads it yet) and reads it. */
  public static TunnelEnd attach(PeekedConnection connection) {
    return attach(connection, true);
  }

  /**
   * Takes over {@code connection} as a reader that has not started reading (a slow reader from
   * its first byte): nothing is read until {@link #resumeReading}.
   */
  public static TunnelEnd attachPaused(PeekedConnection connection) {
    return attach(connection, false);
  }

  private static TunnelEnd attach(PeekedConnection connection, boolean reading) {
    TunnelEnd end = new TunnelEnd(connection.channel());
    Channel channel = connection.channel();
    channel.closeFuture().addListener(f -> {
      end.closed.tryComplete();
      end.inputEnded.tryFail("closed before the end of input (" + end.receivedCount.get() + " bytes)");
    });
    channel.eventLoop().execute(() -> {
      ByteBuf early = connection.bytes();
      end.take(early);
      channel.pipeline().addLast(end);
      if (connection.inputEnded()) {
        end.inputEnded.tryComplete(end.receivedBytes());
      }
      if (reading) {
        channel.config().setAutoRead(true);
        channel.read();
      }
    });
    return end;
  }

  /** Sends {@code bytes} as the channel's writability allows; then ends the output if {@code thenEnd}. */
  public TunnelEnd send(byte[] bytes, boolean thenEnd) {
    channel.eventLoop().execute(() -> {
      payload = bytes;
      offset = 0;
      ending = false;
      endAfter = thenEnd;
      pump();
    });
    return this;
  }

  /** Everything received, once the peer ended its output. */
  public Future<byte[]> inputEnded() {
    return inputEnded.future();
  }

  public Future<Void> closed() {
    return closed.future();
  }

  public long received() {
    return receivedCount.get();
  }

  /** Stops reading (a slow reader): the peer's window fills and its writes must wait. */
  public void pauseReading() {
    channel.eventLoop().execute(() -> channel.config().setAutoRead(false));
  }

  public void resumeReading() {
    channel.eventLoop().execute(() -> {
      channel.config().setAutoRead(true);
      channel.read();
    });
  }

  private void pump() {
    while (payload != null && offset < payload.length && channel.isWritable()) {
      int n = Math.min(CHUNK, payload.length - offset);
      int at = offset;
      // advance first: a write may change writability and run pump() again from inside it
      offset += n;
      written.addAndGet(n);
      channel.write(Unpooled.wrappedBuffer(payload, at, n));
    }
    channel.flush();
    if (payload != null && offset == payload.length && !ending) {
      ending = true;
      payload = null;
      if (endAfter) {
        endOutput();
      }
    }
  }

  public void endOutput() {
    channel.eventLoop().execute(() -> {
      if (channel instanceof DuplexChannel duplex) {
        // after the last write: a socket's shutdownOutput fails what its outbound buffer still holds
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> duplex.shutdownOutput());
      } else {
        Http2StreamBytes.endOutput(channel);
      }
    });
  }

  private void take(ByteBuf bytes) {
    int n = bytes.readableBytes();
    byte[] copy = new byte[n];
    bytes.readBytes(copy);
    synchronized (received) {
      received.write(copy, 0, n);
    }
    receivedCount.addAndGet(n);
    bytes.release();
  }

  private byte[] receivedBytes() {
    synchronized (received) {
      return received.toByteArray();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf bytes) {
      take(bytes);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      inputEnded.tryComplete(receivedBytes());
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    pump();
    ctx.fireChannelWritabilityChanged();
  }
}
