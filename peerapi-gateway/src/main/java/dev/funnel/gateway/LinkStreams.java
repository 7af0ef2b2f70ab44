package dev.funnel.gateway;

import dev.funnel.common.net.Links;
import dev.funnel.common.net.StreamOpener;
import dev.funnel.common.peerapi.IngressAnswer;
import io.netty.buffer.ByteBuf;
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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The streams of one link connection that the gateway relays frame by frame ({@link FrameSplice})
 * rather than through a Netty child channel each. A tunnel between a frontend in another process
 * and a node crosses the gateway as two streams, one on each link; as child channels each held a
 * pipeline, a config, promises and a read queue (~1 KiB of live heap per stream, a held cluster with
 * 5,000 idle tunnels). Here a stream is an {@link End}: the frame codec's stream and what its frames
 * go to.
 *
 * <p>Sits right after the frame codec, last in the pipeline: every stream of the connection is an
 * end (Netty's multiplex handler, which wants a child channel for each, cannot share a connection
 * with it). On a frontend link it takes every stream the frontend opens ({@code onInbound}); on a
 * node link the streams it opened ({@link #open}), and refuses any the node opens. So a gateway
 * whose node links carry frames serves no frontend in its own JVM (that one splices a child
 * channel); {@code GatewayVerticle} refuses to start with both.
 *
 * <p>Flow control is left to the relay: a DATA frame's bytes go back to its sender's window
 * ({@link End#consume}) once the frame was written on the other link, so a tunnel holds at most one
 * stream window in the gateway, as a child channel's read queue did.
 */
final class LinkStreams extends Http2ChannelDuplexHandler {

  static final String NAME = "funnel-link-streams";

  /** What an {@link End}'s frames go to. On the end's connection loop. */
  interface Listener {
    /** A DATA, HEADERS, RST_STREAM or WINDOW_UPDATE frame of the stream; the listener releases it. */
    void onFrame(End end, Http2StreamFrame frame);

    /** The stream closed (both ends done, a reset, or its connection closed). */
    void onClosed(End end);
  }

  private final BiConsumer<End, Http2HeadersFrame> onInbound;
  private final Map<Http2FrameStream, End> ends = new HashMap<>();
  private final List<Runnable> afterRead = new ArrayList<>(2);
  private ChannelHandlerContext ctx;

  /** @param onInbound takes each stream the peer opens (its first HEADERS); on the connection's loop */
  LinkStreams(BiConsumer<End, Http2HeadersFrame> onInbound) {
    this.onInbound = onInbound;
  }

  /** For a node link: the gateway opens every stream, and one the node opens is reset. */
  static LinkStreams refusingInbound() {
    return new LinkStreams((end, head) -> {
      end.reset();
      end.discard();
    });
  }

  @Override
  protected void handlerAdded0(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  String remoteAddress() {
    return ctx == null ? "?" : String.valueOf(ctx.channel().remoteAddress()).replaceFirst("^/", "");
  }

  /** Runs {@code task} once the current read of the connection is complete (on its loop, during a read). */
  void afterRead(Runnable task) {
    afterRead.add(task);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
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
   * Opens a stream with {@code request} as its head and {@code early} as DATA in the same flush,
   * and awaits the answer's head within {@code timeoutMillis}, as {@link StreamOpener#open} does for
   * a child channel. On {@code 200} the answer holds the {@link End}, its later frames held until a
   * listener takes them. Takes {@code early}. On the connection's loop.
   */
  void open(Http2Headers request, ByteBuf early, long timeoutMillis, Promise<StreamOpener.Answer> answer) {
    if (ctx == null || !ctx.channel().isActive()) {
      early.release();
      answer.tryFailure(new StreamOpener.Unanswered("the link connection closed", true, false));
      return;
    }
    End end = new End(newStream());
    Opening opening = new Opening(answer);
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
      answer.tryFailure(new StreamOpener.Unanswered("could not send the request: " + sent.cause(), true, false));
      return;
    }
    sent.addListener(written -> {
      if (!written.isSuccess()) {
        opening.cancel();
        answer.tryFailure(new StreamOpener.Unanswered("could not send the request: " + written.cause(), true, false));
        if (end.stream.id() > 0) {
          end.reset();
        } else {
          ends.remove(end.stream);   // never opened: no CLOSED event will come
        }
      }
    });
    Links.awaitingAnswer(ctx.channel());
    answer.addListener(done -> Links.answered(ctx.channel()));
    opening.timer = ctx.executor().schedule(() -> {
      if (answer.tryFailure(new StreamOpener.Unanswered("no answer within " + timeoutMillis + " ms", false, true))) {
        end.reset();
      }
    }, timeoutMillis, TimeUnit.MILLISECONDS);
  }

  /** Until the answer's head: the open's frames. */
  private final class Opening implements Listener {
    private final Promise<StreamOpener.Answer> answer;
    ScheduledFuture<?> timer;

    Opening(Promise<StreamOpener.Answer> answer) {
      this.answer = answer;
    }

    void cancel() {
      if (timer != null) {
        timer.cancel(false);
      }
    }

    @Override
    public void onFrame(End end, Http2StreamFrame frame) {
      if (frame instanceof Http2HeadersFrame head) {
        cancel();
        int status = IngressAnswer.status(head.headers());
        if (status == 200) {
          end.listener = null;   // what follows is held for the splice
          if (head.isEndStream()) {
            end.deliver(head);
          }
          if (!answer.trySuccess(new StreamOpener.Accepted<>(head.headers(), end))) {
            end.reset();
          }
        } else {
          end.reset();
          answer.trySuccess(new StreamOpener.Refused(head.headers(), status));
        }
        return;
      }
      ReferenceCountUtil.release(frame);
      if (frame instanceof Http2DataFrame) {
        cancel();
        end.reset();
        answer.tryFailure(new StreamOpener.Unanswered("DATA before the answer", false, false));
      }
    }

    @Override
    public void onClosed(End end) {
      cancel();
      boolean gone = !ctx.channel().isActive();
      answer.tryFailure(new StreamOpener.Unanswered("the stream closed before an answer"
          + (gone ? " (its connection closed)" : ""), gone, false));
    }
  }

  /**
   * One stream of this connection. Its frames go to its listener, or are held (in order) while it
   * has none. Written to from any loop: a write from another thread is handed to this connection's.
   */
  final class End {
    final Http2FrameStream stream;
    private Listener listener;
    private ArrayDeque<Object> held;
    /** Its CLOSED event came (or the connection closed). */
    volatile boolean closed;
    /** Runs once when it closes (set and run on the connection's loop). */
    private Runnable onClose;

    End(Http2FrameStream stream) {
      this.stream = stream;
    }

    void deliver(Http2StreamFrame frame) {
      if (listener != null) {
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
      if (listener != null) {
        listener.onClosed(this);
      } else {
        if (held == null) {
          held = new ArrayDeque<>(1);
        }
        held.add(this);   // the close, in order behind the frames
      }
    }

    /** Sets what takes the frames from now on, the held ones first; from any thread. */
    void listen(Listener next) {
      if (!ctx.executor().inEventLoop()) {
        ctx.executor().execute(() -> listen(next));
        return;
      }
      listener = next;
      ArrayDeque<Object> before = held;
      held = null;
      if (before != null) {
        for (Object o : before) {
          if (o == this) {
            next.onClosed(this);
          } else {
            next.onFrame(this, (Http2StreamFrame) o);
          }
        }
      }
    }

    /** Holds the frames that come from now on (in order) until the next {@link #listen}. On the loop. */
    void hold() {
      listener = null;
    }

    /**
     * Takes frames and drops them, their bytes returned to the window: the stream is done with
     * (refused or reset), and whatever its peer still sends before it learns so costs nothing.
     */
    void discard() {
      listen(DISCARD);
    }

    /** Runs {@code hook} once the stream has closed (at once if it has); from any thread. */
    void whenClosed(Runnable hook) {
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

    ChannelFuture write(Http2StreamFrame frame) {
      return ctx.write(frame.stream(stream));
    }

    void flush() {
      ctx.flush();
    }

    /** Returns {@code bytes} to the peer's window of this stream (a WINDOW_UPDATE when enough add up). */
    void consume(int bytes) {
      if (bytes > 0 && !closed) {
        ctx.write(new DefaultHttp2WindowUpdateFrame(bytes).stream(stream), ctx.voidPromise());
        ctx.flush();
      }
    }

    /** Ends the stream with RST_STREAM (CANCEL) unless it is closed already. */
    void reset() {
      if (!closed) {
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL).stream(stream), ctx.voidPromise());
      }
    }

    ChannelHandlerContext context() {
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
