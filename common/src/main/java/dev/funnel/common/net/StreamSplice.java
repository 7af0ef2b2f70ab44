package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splices a socket with a stream of a link connection ({@link LinkStreams.End}), as Netty's proxy
 * example splices two sockets, with no child channel for the stream. Back-pressure as in Netty's proxy
 * example, each way: the socket is read again once the DATA frames of its last read were written
 * on the link (the stream's flow-control window decides when), and a DATA frame's bytes go back to
 * the stream's window once the socket took them. Each way can be paced ({@link Pacer}: after bytes
 * are passed on, how long before the socket's next read, or before the stream's next frame is
 * taken: the end holds them meanwhile, and its window then stops the sender).
 *
 * <p>Half-close is carried each way: the socket's input end (a FIN) becomes END_STREAM after its
 * last bytes, and END_STREAM shuts the socket's output after the stream's last bytes are written.
 * When the stream has closed (both ends done, a reset, its connection gone) the socket is flushed
 * and closed, within {@link #CLOSE_GRACE_MILLIS}; when the socket closes before both ways
 * ended, the stream is reset.
 *
 * <p>The socket and the stream may run on different loops: the socket's side runs on its loop,
 * the stream's frames on the link's, and Netty hands a write to the target's own loop.
 */
public final class StreamSplice implements LinkStreams.Listener {

  /** Byte counts of a finished tunnel: socket → stream ({@code aToB}) and stream → socket ({@code bToA}). */
  public record Stats(long aToB, long bToA) {
  }

  /** Counts bytes as they pass (a live counter); called on either side's loop. */
  @FunctionalInterface
  public interface ByteCounter {
    ByteCounter NONE = bytes -> { };

    void add(long bytes);
  }

  /** After one side closes, how long the other may take to flush before it is closed regardless. */
  public static final long CLOSE_GRACE_MILLIS = 30_000;

  /** The socket's handler. */
  public static final String HANDLER_NAME = "funnel-splice";

  private final Channel socket;
  private final LinkStreams.End stream;
  private final ByteCounter toStream;
  private final ByteCounter fromStream;
  private final Pacer socketPacer;
  private final Pacer streamPacer;
  private final Promise<Stats> done;
  private volatile long bytesToStream;
  private volatile long bytesFromStream;
  /** The socket's input ended and END_STREAM went out (or the stream is gone). */
  private volatile boolean socketEnded;
  /** END_STREAM came from the stream. */
  private volatile boolean streamEnded;
  private volatile boolean socketClosed;
  private volatile boolean streamClosed;
  private volatile ScheduledFuture<?> grace;
  /** The socket's output waits for a flush at the link's read-complete (the link's loop only). */
  private boolean flushPending;

  private StreamSplice(Channel socket, LinkStreams.End stream, ByteCounter toStream, ByteCounter fromStream,
                       Pacer socketPacer, Pacer streamPacer) {
    this.socket = socket;
    this.stream = stream;
    this.toStream = toStream;
    this.fromStream = fromStream;
    this.socketPacer = socketPacer;
    this.streamPacer = streamPacer;
    this.done = socket.eventLoop().newPromise();
  }

  /**
   * Splices {@code client} (a socket with {@code AUTO_READ} off and {@code ALLOW_HALF_CLOSURE} on,
   * no handler after this call that would take its reads) with {@code stream} (answered, its later
   * frames held until now): the client's peeked bytes go first, an input end already read is passed
   * on.
   *
   * @return completes (on the client's loop) when the socket and the stream are both closed
   */
  public static Future<Stats> start(PeekedConnection client, LinkStreams.End stream, ByteCounter toStream,
                                    ByteCounter fromStream, Pacer clientPacer, Pacer streamPacer) {
    StreamSplice splice = new StreamSplice(client.channel(), stream, toStream, fromStream, clientPacer, streamPacer);
    Channel socket = client.channel();
    DataPlane.countTunnel(socket.eventLoop());
    socket.closeFuture().addListener(f -> splice.socketClosed());
    ByteBuf first = client.bytes();
    boolean ended = client.inputEnded();
    Runnable install = () -> {
      if (first.isReadable()) {
        splice.count(first.readableBytes(), true);
        stream.write(new DefaultHttp2DataFrame(first, false));
      } else {
        first.release();
      }
      if (ended) {
        splice.socketInputEnded();
      } else {
        stream.flush();
      }
      if (socket.isActive()) {
        socket.pipeline().addLast(HANDLER_NAME, splice.new SocketLeg());
        if (!ended && !splice.takeEarlyReads()) {
          socket.read();
        }
      }
    };
    if (socket.eventLoop().inEventLoop()) {
      install.run();
    } else {
      socket.eventLoop().execute(install);
    }
    stream.listen(splice);
    return splice.done;
  }

  /**
   * Passes on what an {@link EarlyReads} (a dialled socket's first handler) kept before the splice,
   * then removes it; true when the next read is left to the write of those bytes (or the input ended).
   */
  private boolean takeEarlyReads() {
    EarlyReads early = socket.pipeline().get(EarlyReads.class);
    if (early == null) {
      return false;
    }
    SocketLeg leg = (SocketLeg) socket.pipeline().get(HANDLER_NAME);
    ChannelHandlerContext ctx = socket.pipeline().context(leg);
    boolean[] any = new boolean[1];
    boolean ended = early.handOver(chunk -> {
      any[0] = true;
      leg.channelRead(ctx, chunk);
    });
    socket.pipeline().remove(early);
    if (any[0]) {
      leg.channelReadComplete(ctx);
    }
    if (ended) {
      socketInputEnded();
    }
    return any[0] || ended;
  }

  private void count(long n, boolean toTheStream) {
    if (toTheStream) {
      bytesToStream += n;
      toStream.add(n);
    } else {
      bytesFromStream += n;
      fromStream.add(n);
    }
  }

  // --- socket → stream (the socket's loop) ---------------------------------------------------------

  /** The socket's handler: its reads go to the stream as DATA; its input end as END_STREAM. */
  private final class SocketLeg extends ChannelInboundHandlerAdapter {
    private ChannelFuture lastWrite;
    private long batch;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (!(msg instanceof ByteBuf chunk)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (socketEnded || stream.isClosed()) {
        chunk.release();
        return;
      }
      int n = chunk.readableBytes();
      count(n, true);
      batch += n;
      lastWrite = stream.write(new DefaultHttp2DataFrame(chunk, false));
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      ChannelFuture written = lastWrite;
      long bytes = batch;
      lastWrite = null;
      batch = 0;
      if (written == null) {
        readAgain(0);
        return;
      }
      stream.flush();
      written.addListener(w -> {
        if (w.isSuccess()) {
          readAgain(socketPacer.delayNanos(bytes));
        } else {
          abort();
        }
      });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        socketInputEnded();
      }
      ReferenceCountUtil.release(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      abort();
    }
  }

  private void readAgain(long delayNanos) {
    if (delayNanos > 0) {
      socket.eventLoop().schedule(() -> readAgain(0), delayNanos, TimeUnit.NANOSECONDS);
      return;
    }
    if (!socket.eventLoop().inEventLoop()) {
      socket.eventLoop().execute(() -> readAgain(0));
      return;
    }
    if (!socketEnded && socket.isActive()) {
      socket.read();
    }
  }

  /** The socket sends nothing more: END_STREAM, behind every DATA frame before it. */
  private void socketInputEnded() {
    if (socketEnded) {
      return;
    }
    socketEnded = true;
    if (stream.isClosed()) {
      return;
    }
    stream.write(new DefaultHttp2DataFrame(true)).addListener(w -> {
      if (!w.isSuccess()) {
        abort();
      }
    });
    stream.flush();
  }

  // --- stream → socket (the link's loop) -----------------------------------------------------------

  @Override
  public void onFrame(LinkStreams.End end, Http2StreamFrame frame) {
    if (frame instanceof Http2DataFrame data) {
      int flow = data.initialFlowControlledBytes();
      int n = data.content().readableBytes();
      boolean last = data.isEndStream();
      if (socketClosed || (n == 0 && !last)) {
        data.release();
        stream.consume(flow);
        return;
      }
      ChannelFuture written = socket.write(data.content());
      written.addListener(w -> {
        if (w.isSuccess()) {
          // Counted once the socket took them: bytes still queued when it closes never reach the client.
          count(n, false);
          stream.consume(flow);
        } else {
          abort();
        }
      });
      long wait = n > 0 ? streamPacer.delayNanos(n) : 0;
      if (wait > 0) {
        // Paced: the stream's next frames wait (held in order by the end) as a socket's next read
        // would. A late window update alone would not do: a stream window holds megabytes.
        stream.hold();
        stream.context().executor().schedule(() -> stream.listen(this), wait, TimeUnit.NANOSECONDS);
      }
      if (last) {
        streamInputEnded(written);
      }
      flushSocketAfterRead();
    } else if (frame instanceof Http2HeadersFrame head) {
      if (head.isEndStream()) {   // trailers: only their end counts
        streamInputEnded(null);
        flushSocketAfterRead();
      }
    } else if (frame instanceof Http2ResetFrame) {
      streamClosed();   // its CLOSED event follows; the socket need not wait for it
    } else {
      ReferenceCountUtil.release(frame);
    }
  }

  /** One flush of the socket per read of the link, however many of the stream's frames it held. */
  private void flushSocketAfterRead() {
    if (!flushPending) {
      flushPending = true;
      stream.afterRead(() -> {
        flushPending = false;
        socket.flush();
      });
    }
  }

  /** The stream sends nothing more: shut the socket's output once every byte before it is written. */
  private void streamInputEnded(ChannelFuture lastWrite) {
    if (streamEnded) {
      return;
    }
    streamEnded = true;
    ChannelFuture before = lastWrite != null ? lastWrite : socket.write(Unpooled.EMPTY_BUFFER);
    before.addListener(w -> {
      if (!w.isSuccess()) {
        abort();
      } else if (socketEnded) {
        socket.close();   // both ways are over: the close sends the FIN without a shutdown first
      } else if (socket instanceof DuplexChannel duplex) {
        duplex.shutdownOutput();
      } else {
        socket.close();
      }
    });
  }

  @Override
  public void onClosed(LinkStreams.End end) {
    streamClosed();
  }

  // --- the end ------------------------------------------------------------------------------------

  /** The stream is over: the socket gets what was written to it, then closes (within the grace). */
  private void streamClosed() {
    if (streamClosed) {
      return;
    }
    streamClosed = true;
    if (socketClosed) {
      finish();
      return;
    }
    // The grace first: the close below may complete at once (the socket on this loop, nothing
    // queued), and a timer set after socketClosed() looked for it would hold the whole tunnel for
    // CLOSE_GRACE_MILLIS (tens of thousands of closed tunnels' objects at a busy node's rate).
    ScheduledFuture<?> timer = socket.eventLoop().schedule(() -> {
      socket.close();
    }, CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    grace = timer;
    if (socketClosed) {   // closed on its own loop meanwhile, before it could see the timer
      timer.cancel(false);
    }
    socket.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  private void socketClosed() {
    socketClosed = true;
    ScheduledFuture<?> timer = grace;
    if (timer != null) {
      timer.cancel(false);
    }
    if (!(socketEnded && streamEnded)) {
      stream.resetAfterWrites();   // what the socket sent before its close still goes
    }
    if (streamClosed) {
      finish();
    }   // else the stream's close (reset just now, or ending by itself) finishes
  }

  private void finish() {
    done.trySuccess(new Stats(bytesToStream, bytesFromStream));
  }

  /** A write failed or the socket broke: both end now. */
  private void abort() {
    stream.reset();
    socket.close();
  }
}
