package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The streams of one link connection, each an {@link End} rather than a Netty child channel (which
 * held a pipeline, a config, promises and a read queue: ~0.8 KiB of live heap per stream): a stream
 * is the frame codec's stream and what its frames go to. The node splices each with its local
 * target's socket and a frontend with its client's ({@link StreamSplice}); the gateway relays a
 * remote frontend's stream to the node's frame by frame (its {@code FrameSplice}).
 *
 * <p>Last in the pipeline, right after the frame codec: it takes every stream the peer opens
 * ({@code onInbound}), or refuses them ({@link #refusingInbound}), and opens streams of its own
 * ({@link #open}). Flow control is left to whoever listens to an end: a DATA frame's bytes go back
 * to its sender's window ({@link End#consume}) once the frame was passed on, so a tunnel holds at
 * most one stream window per direction.
 */
public final class LinkStreams extends Http2ChannelDuplexHandler {

  public static final String NAME = "funnel-link-streams";

  private static final System.Logger LOG = System.getLogger(LinkStreams.class.getName());

  /** What an {@link End}'s frames go to. On the end's connection loop. */
  public interface Listener {
    /** A DATA, HEADERS, RST_STREAM or WINDOW_UPDATE frame of the stream; the listener releases it. */
    void onFrame(End end, Http2StreamFrame frame);

    /** The stream closed (both ends done, a reset, or its connection closed). */
    void onClosed(End end);
  }

  private final BiConsumer<End, Http2HeadersFrame> onInbound;
  private final Map<Http2FrameStream, End> ends = new HashMap<>();
  private final List<Runnable> afterRead = new ArrayList<>(2);
  /** Between a read's first frame and its read-complete. */
  private boolean reading;
  private ChannelHandlerContext ctx;

  /** @param onInbound takes each stream the peer opens (its first HEADERS); on the connection's loop */
  public LinkStreams(BiConsumer<End, Http2HeadersFrame> onInbound) {
    this.onInbound = onInbound;
  }

  /** For a connection whose peer opens no stream (the gateway's node links, a frontend's links): one it opens is reset. */
  public static LinkStreams refusingInbound() {
    return new LinkStreams((end, head) -> end.abandon());
  }

  @Override
  protected void handlerAdded0(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  public String remoteAddress() {
    return ctx == null ? "?" : String.valueOf(ctx.channel().remoteAddress()).replaceFirst("^/", "");
  }

  /**
   * Runs {@code task} once the current read of the connection is complete, or at once when no read
   * is under way (a frame handed over from what was held). On the connection's loop.
   */
  public void afterRead(Runnable task) {
    if (reading) {
      afterRead.add(task);
    } else {
      task.run();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    reading = true;
    if (msg instanceof Http2StreamFrame frame && frame.stream() != null) {
      End end = ends.get(frame.stream());
      if (end != null) {
        end.deliver(frame);
      } else if (frame instanceof Http2HeadersFrame head && frame.stream().state() != Http2Stream.State.CLOSED) {
        End fresh = new End(frame.stream());
        ends.put(frame.stream(), fresh);
        onInbound.accept(fresh, head);
      } else {
        ReferenceCountUtil.release(frame);   // a late frame of a stream already closed
      }
      return;
    }
    ReferenceCountUtil.release(msg);   // SETTINGS, PING, GOAWAY: the codec has acted on them, nothing follows
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    reading = false;
    if (!afterRead.isEmpty()) {
      Runnable[] tasks = afterRead.toArray(new Runnable[0]);
      afterRead.clear();
      for (Runnable task : tasks) {
        task.run();
      }
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2FrameStreamEvent event) {
      End end = ends.get(event.stream());
      if (end != null && event.type() == Http2FrameStreamEvent.Type.State
          && event.stream().state() == Http2Stream.State.CLOSED) {
        ends.remove(event.stream());
        end.closed();
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    // The codec closes every stream as its connection goes (each a CLOSED event above); what is
    // left is closed here all the same.
    if (!ends.isEmpty()) {
      List<End> left = new ArrayList<>(ends.values());
      ends.clear();
      left.forEach(End::closed);
    }
    ctx.fireChannelInactive();
  }

  /**
   * What no handler before took ends here, not at Netty's pipeline tail (a WARNING per connection):
   * an I/O or TLS failure (an {@link IOException}, or its cause) at DEBUG, anything else (a bug) as a
   * WARNING; the connection closes either way, and its streams with it.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof IOException || cause.getCause() instanceof IOException) {   // SSLException is one
      LOG.log(Level.DEBUG, () -> "link connection " + remoteAddress() + " failed: " + cause);
    } else {
      LOG.log(Level.WARNING, "link connection " + remoteAddress() + " failed; closing it", cause);
    }
    ctx.close();
  }

  /**
   * {@link #open(Http2Headers, ByteBuf, long, Promise)} on {@code connection}'s {@code LinkStreams},
   * from any thread. Takes {@code early}.
   */
  public static io.netty.util.concurrent.Future<OpenAnswer> open(Channel connection, Http2Headers request,
                                                                          ByteBuf early, long timeoutMillis) {
    Promise<OpenAnswer> answer = connection.eventLoop().newPromise();
    LinkStreams streams = connection.pipeline().get(LinkStreams.class);
    if (streams == null) {
      early.release();
      return answer.setFailure(new OpenAnswer.Unanswered("the link connection closed", true, false));
    }
    if (connection.eventLoop().inEventLoop()) {
      streams.open(request, early, timeoutMillis, answer);
    } else {
      connection.eventLoop().execute(() -> streams.open(request, early, timeoutMillis, answer));
    }
    return answer;
  }

  /**
   * Opens a stream with {@code request} as its head and {@code early} as DATA in the same flush,
   * and awaits the answer's head within {@code timeoutMillis} ({@link LinkStreamOpening}). On
   * {@code 200} the answer holds the {@link End}, its later frames held until a listener takes
   * them. Takes {@code early}. On the connection's loop.
   */
  public void open(Http2Headers request, ByteBuf early, long timeoutMillis, Promise<OpenAnswer> answer) {
    if (ctx == null || !ctx.channel().isActive()) {
      early.release();
      answer.tryFailure(new OpenAnswer.Unanswered("the link connection closed", true, false));
      return;
    }
    End end = new End(newStream());
    LinkStreamOpening opening = new LinkStreamOpening(answer);
    end.listener = opening;
    ends.put(end.stream, end);
    ChannelFuture sent = ctx.write(new DefaultHttp2HeadersFrame(request, false).stream(end.stream));
    if (early.isReadable()) {
      sent = ctx.write(new DefaultHttp2DataFrame(early, false).stream(end.stream));
    } else {
      early.release();
    }
    ctx.flush();
    if (sent.isDone() && !sent.isSuccess()) {
      ends.remove(end.stream);
      answer.tryFailure(new OpenAnswer.Unanswered("could not send the request: " + sent.cause(), true, false));
      return;
    }
    opening.watch(ctx, end, sent, timeoutMillis);
  }

  /**
   * One stream of this connection. Its frames go to its listener, or are held (in order) while it
   * has none. Written to from any loop: a write from another thread is handed to this connection's.
   */
  public final class End {
    private final Http2FrameStream stream;
    private Listener listener;
    private ArrayDeque<Object> held;
    /** Its CLOSED event came (or the connection closed). */
    private volatile boolean closed;
    /** Runs once when it closes (set and run on the connection's loop). */
    private Runnable onClose;
    /** The last frame written to it, for {@link #resetAfterWrites}. */
    private volatile ChannelFuture lastWrite;

    End(Http2FrameStream stream) {
      this.stream = stream;
    }

    void deliver(Http2StreamFrame frame) {
      if (listener != null && held == null) {
        listener.onFrame(this, frame);
        return;
      }
      if (held == null) {
        held = new ArrayDeque<>(4);
      }
      held.add(frame);
    }

    void closed() {
      if (closed) {
        return;
      }
      closed = true;
      Runnable hook = onClose;
      if (hook != null) {
        hook.run();
      }
      if (listener != null && held == null) {
        listener.onClosed(this);
      } else {
        if (held == null) {
          held = new ArrayDeque<>(1);
        }
        held.add(this);   // the close, in order behind the frames
      }
    }

    /** Sets what takes the frames from now on, the held ones first; from any thread. */
    public void listen(Listener next) {
      if (!ctx.executor().inEventLoop()) {
        ctx.executor().execute(() -> listen(next));
        return;
      }
      listener = next;
      // From the queue itself: a listener that holds again (a pacer) or unreads leaves the rest queued.
      Object o;
      while (listener == next && held != null && (o = held.poll()) != null) {
        if (o == this) {
          next.onClosed(this);
        } else {
          next.onFrame(this, (Http2StreamFrame) o);
        }
      }
      if (held != null && held.isEmpty()) {
        held = null;
      }
    }

    /** Holds the frames that come from now on (in order) until the next {@link #listen}. On the loop. */
    public void hold() {
      listener = null;
    }

    /** Gives back frames a listener only peeked at, in order, ahead of the rest, until the next {@link #listen}. */
    public void unread(List<? extends Http2StreamFrame> frames) {
      listener = null;
      ArrayDeque<Object> all = new ArrayDeque<>(frames.size() + (held == null ? 0 : held.size()));
      all.addAll(frames);
      if (held != null) {
        all.addAll(held);
      }
      held = all;
    }

    /**
     * Takes frames and drops them, their bytes returned to the window: the stream is done with
     * (refused or reset), and whatever its peer still sends before it learns so costs nothing.
     */
    public void discard() {
      listen(DISCARD);
    }

    /** Runs {@code hook} once the stream has closed (at once if it has); from any thread. */
    public void whenClosed(Runnable hook) {
      if (!ctx.executor().inEventLoop()) {
        ctx.executor().execute(() -> whenClosed(hook));
        return;
      }
      if (closed) {
        hook.run();
      } else {
        onClose = hook;
      }
    }

    /** {@link LinkStreams#afterRead} of this end's connection. */
    public void afterRead(Runnable task) {
      LinkStreams.this.afterRead(task);
    }

    public ChannelFuture write(Http2StreamFrame frame) {
      ChannelFuture written = ctx.write(frame.stream(stream));
      lastWrite = written;
      return written;
    }

    public void flush() {
      ctx.flush();
    }

    /** Returns {@code bytes} to the peer's window of this stream (a WINDOW_UPDATE when enough add up). */
    public void consume(int bytes) {
      if (bytes > 0 && !closed) {
        ctx.write(new DefaultHttp2WindowUpdateFrame(bytes).stream(stream), ctx.voidPromise());
        ctx.flush();
      }
    }

    /**
     * {@link #reset} once every frame written to this end so far has gone out: a reset drops the
     * DATA the flow controller still queues, so a peer's last bytes (say a reply, then its close)
     * would be lost. Within {@link StreamSplice#CLOSE_GRACE_MILLIS} whatever the window does.
     */
    public void resetAfterWrites() {
      ChannelFuture last = lastWrite;
      if (last == null || last.isDone()) {
        reset();
        return;
      }
      ScheduledFuture<?> grace = ctx.executor().schedule(this::reset, StreamSplice.CLOSE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
      last.addListener(done -> {
        grace.cancel(false);
        reset();
      });
      flush();
    }

    /** Lets go of a stream that will not be spliced: reset, and whatever still comes dropped. */
    public void abandon() {
      reset();
      discard();
    }

    /** Ends the stream with RST_STREAM (CANCEL) unless it is closed already. */
    public void reset() {
      if (!closed) {
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(stream), ctx.voidPromise());
      }
    }

    /** The codec's stream. */
    Http2FrameStream stream() {
      return stream;
    }

    /** Forgets an end whose stream never opened (no CLOSED event will come for it). */
    void forget() {
      ends.remove(stream);
    }

    /** Its CLOSED event came, or its connection closed. */
    public boolean isClosed() {
      return closed;
    }

    public ChannelHandlerContext context() {
      return ctx;
    }
  }

  private static final Listener DISCARD = new Listener() {
    @Override
    public void onFrame(End end, Http2StreamFrame frame) {
      if (frame instanceof Http2DataFrame data) {
        end.consume(data.initialFlowControlledBytes());
      }
      ReferenceCountUtil.release(frame);
    }

    @Override
    public void onClosed(End end) {
    }
  };
}
