package dev.funnel.node;

import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.tls.ClientHello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Peeks at the ClientHello of an accepted offer's stream, to learn which ALPN protocols the client
 * offers, without consuming anything: it listens to the stream's {@link LinkStreams.End} and keeps
 * each frame as it came (no byte of it goes back to the window, nothing is released), and once
 * decided gives them all back ({@link LinkStreams.End#unread}), so the splice later gets them in
 * order, END_STREAM included, and the local target the client's bytes first, byte for byte. The
 * frontend has already read a whole ClientHello, so it usually came with the offer; otherwise the
 * peek keeps listening, parsing what it kept after each read of the link, until the shared parser
 * ({@link ClientHello#parse}) decides, under {@link #MAX_HELLO_BYTES}, {@link #MAX_KEPT_FRAMES} and
 * {@link #DEADLINE_MILLIS};
 * the stream window bounds what the gateway can send meanwhile. Whatever the outcome (not TLS, malformed, too slow, ended), the stream is
 * handed on with an empty protocol list and the local target decides; only a stream that closes is
 * dropped. Runs on the link connection's loop.
 */
final class HelloPeek implements LinkStreams.Listener {

  static final int MAX_HELLO_BYTES = 16 * 1024;
  static final long DEADLINE_MILLIS = 5_000;
  /**
   * More DATA frames than this and the peek gives up (no protocols): a client's hello comes in one
   * or two of the frontend's reads, and each parse walks every frame kept, so a hello dripped a few
   * bytes per frame would otherwise cost a parse per read over thousands of frames.
   */
  static final int MAX_KEPT_FRAMES = 64;

  private final BiConsumer<LinkStreams.End, List<String>> onDecided;
  private final List<Http2StreamFrame> kept = new ArrayList<>(4);
  private int bytes;
  private boolean inputEnded;
  /** A parse waits for the end of the link's current read (one parse per read, not per frame). */
  private boolean parsePending;
  private boolean done;
  private ScheduledFuture<?> deadline;

  private HelloPeek(BiConsumer<LinkStreams.End, List<String>> onDecided) {
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

  /**
   * Calls {@code onDecided} with the stream (every frame read so far given back to it, held until
   * the next listener) and the protocols its ClientHello offers; never if the stream closes first.
   * The frames the stream holds already (those that came with the offer) are looked at first.
   */
  static void peek(LinkStreams.End end, long deadlineMillis, BiConsumer<LinkStreams.End, List<String>> onDecided) {
    HelloPeek peek = new HelloPeek(onDecided);
    peek.deadline = end.context().executor().schedule(() -> peek.decide(end, List.of()), deadlineMillis,
        TimeUnit.MILLISECONDS);
    // The held frames are handed over inside listen: parsed once all of them are in (and, during a
    // read, with the rest of that read), never in the middle of that hand-over.
    peek.parsePending = true;
    end.listen(peek);
    peek.parseAfterRead(end);
  }

  @Override
  public void onFrame(LinkStreams.End end, Http2StreamFrame frame) {
    if (done) {   // not expected: a decided peek no longer listens, and nothing would give this back
      ReferenceCountUtil.release(frame);
      return;
    }
    kept.add(frame);
    if (frame instanceof Http2DataFrame data) {
      bytes += data.content().readableBytes();
      inputEnded |= data.isEndStream();
    } else if (frame instanceof Http2HeadersFrame head) {
      inputEnded |= head.isEndStream();
    } else {
      return;   // a reset (its close follows) or a window update: nothing to parse
    }
    if (!parsePending) {
      parsePending = true;
      parseAfterRead(end);
    }
  }

  private void parseAfterRead(LinkStreams.End end) {
    end.afterRead(() -> {
      parsePending = false;
      parse(end);
    });
  }

  /** Parses the DATA kept so far (duplicates: the frames stay as they came) and decides if it can. */
  private void parse(LinkStreams.End end) {
    if (done) {
      return;
    }
    CompositeByteBuf all = end.context().alloc().compositeBuffer(Math.max(2, kept.size()));
    for (Http2StreamFrame frame : kept) {
      if (frame instanceof Http2DataFrame data && data.content().isReadable()) {
        all.addComponent(true, data.content().retainedDuplicate());
      }
    }
    List<String> protocols;
    try {
      protocols = protocols(all, inputEnded);
    } finally {
      all.release();
    }
    if (protocols == null && (bytes > 2 * MAX_HELLO_BYTES || kept.size() > MAX_KEPT_FRAMES)) {
      protocols = List.of();
    }
    if (protocols != null) {
      decide(end, protocols);
    }
  }

  private void decide(LinkStreams.End end, List<String> protocols) {
    if (done) {
      return;
    }
    done = true;
    deadline.cancel(false);
    end.unread(kept);
    kept.clear();
    onDecided.accept(end, protocols);
  }

  @Override
  public void onClosed(LinkStreams.End end) {
    if (!done) {
      done = true;
      deadline.cancel(false);
      kept.forEach(ReferenceCountUtil::release);
      kept.clear();
    }
  }
}
