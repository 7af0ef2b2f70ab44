package dev.funnel.gateway;

import dev.funnel.common.net.LinkStreams;

import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.OpenStream;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.lang.System.Logger.Level;
import java.util.Optional;

/**
 * A tunnel from a frontend in another process to a node, relayed by the gateway frame by frame:
 * the frontend's stream on its link and the node's stream on the node's link are two
 * {@link LinkStreams.End}s, and each DATA frame of one is written to the other as it comes: what
 * {@code StreamSplice} does for a socket and a stream, for two streams.
 *
 * <ul>
 *   <li><b>Open.</b> The frontend's first HEADERS is the open ({@link OpenStream}); the DATA that came
 *       in the same read (the client's ClientHello) goes with the offer to the node. The frontend
 *       hears {@code 200} once the node did, or the coded refusal.</li>
 *   <li><b>Back-pressure.</b> A frame's bytes return to its sender's window only once the frame was
 *       written on the other link, so the gateway holds at most one stream window per direction of
 *       a tunnel whose reader is slow.</li>
 *   <li><b>Half-close.</b> END_STREAM from one side is passed on as END_STREAM to the other, after
 *       every DATA frame before it.</li>
 *   <li><b>Close.</b> A stream that closes otherwise than by both ends of it finishing (a reset, its
 *       connection gone) resets the other.</li>
 * </ul>
 */
final class FrameSplice implements LinkStreams.Listener {

  private static final System.Logger LOG = System.getLogger(FrameSplice.class.getName());

  private final LinkStreams.End front;
  private final LinkStreams.End node;
  private final GatewayMetrics metrics;
  /** END_STREAM read from the front / from the node (and passed on). */
  private volatile boolean frontEnded;
  private volatile boolean nodeEnded;

  private FrameSplice(LinkStreams.End front, LinkStreams.End node, GatewayMetrics metrics) {
    this.front = front;
    this.node = node;
    this.metrics = metrics;
  }

  /**
   * A frontend opened {@code front} with {@code head}: answer it, and relay it once the node
   * accepted. On the frontend link's loop, during its read.
   */
  static void opened(LinkStreams link, LinkStreams.End front, Http2HeadersFrame head, TunnelOpener opener,
                     GatewayMetrics metrics) {
    Optional<OpenRequest> request = OpenStream.parse(head.headers());
    if (request.isEmpty()) {
      LOG.log(Level.INFO, "link stream from " + link.remoteAddress() + " is not an open; rejecting");
      refuse(front, IngressAnswer.refuse(IngressAnswer.BAD_REQUEST, "not an open"));
      return;
    }
    First first = new First(front.context().alloc().compositeBuffer(), head.isEndStream());
    front.listen(first);
    link.afterRead(() -> first.decided(front, request.get(), opener, metrics));
  }

  private static void refuse(LinkStreams.End front, Http2Headers answer) {
    if (!front.isClosed()) {
      front.write(new DefaultHttp2HeadersFrame(answer, true));
      front.flush();
    }
    front.discard();
  }

  /** The frames of the open's first read: the client's first bytes, and whether its input ended. */
  private static final class First implements LinkStreams.Listener {
    private final CompositeByteBuf bytes;
    private int flowBytes;
    private boolean inputEnded;
    private boolean closed;

    First(CompositeByteBuf bytes, boolean inputEnded) {
      this.bytes = bytes;
      this.inputEnded = inputEnded;
    }

    @Override
    public void onFrame(LinkStreams.End end, Http2StreamFrame frame) {
      if (frame instanceof Http2DataFrame data) {
        flowBytes += data.initialFlowControlledBytes();
        inputEnded |= data.isEndStream();
        bytes.addComponent(true, data.content());
      } else {
        inputEnded |= frame instanceof Http2HeadersFrame head && head.isEndStream();
        closed |= frame instanceof Http2ResetFrame;
        ReferenceCountUtil.release(frame);
      }
    }

    @Override
    public void onClosed(LinkStreams.End end) {
      closed = true;
    }

    /** The read is complete: what came is the first bytes, what comes next waits for the node's answer. */
    void decided(LinkStreams.End front, OpenRequest request, TunnelOpener opener, GatewayMetrics metrics) {
      front.hold();
      if (closed) {
        bytes.release();
        front.discard();
        return;
      }
      long sent = bytes.readableBytes();
      EventLoop loop = front.context().channel().eventLoop();
      opener.open(request, bytes, loop).addListener(opened -> {
        bytes.release();
        if (!opened.isSuccess()) {
          Throwable cause = opened.cause();
          OpenFailure failure = FailureCode.of(cause).flatMap(OpenFailure::fromCode)
              .orElse(OpenFailure.NO_DATA_CONNECTION);
          refuse(front, OpenStream.refusal(failure, String.valueOf(cause.getMessage())));
          return;
        }
        LinkStreams.End node = (LinkStreams.End) opened.getNow();
        if (front.isClosed()) {
          node.abandon();
          front.discard();
          return;
        }
        front.write(new DefaultHttp2HeadersFrame(IngressAnswer.accept(), false));
        front.flush();
        front.consume(flowBytes);
        metrics.inbound(sent);
        DataPlane.countTunnel(loop);
        FrameSplice splice = new FrameSplice(front, node, metrics);
        if (inputEnded) {
          splice.ended(front, node);
        }
        front.listen(splice);
        node.listen(splice);
      });
    }
  }

  @Override
  public void onFrame(LinkStreams.End end, Http2StreamFrame frame) {
    LinkStreams.End to = end == front ? node : front;
    if (frame instanceof Http2DataFrame data) {
      int flow = data.initialFlowControlledBytes();
      int n = data.content().readableBytes();
      boolean last = data.isEndStream();
      if (n > 0) {
        if (end == front) {
          metrics.inbound(n);
        } else {
          metrics.outbound(n);
        }
      }
      if (last) {
        markEnded(end);
      }
      if (to.isClosed() || (n == 0 && !last)) {
        data.release();
        end.consume(flow);
        return;
      }
      to.write(new DefaultHttp2DataFrame(data.content(), last)).addListener(written -> {
        if (written.isSuccess()) {
          end.consume(flow);
        } else {
          resetBoth();
        }
      });
      to.flush();
    } else if (frame instanceof Http2HeadersFrame head) {
      if (head.isEndStream()) {   // trailers: only their end counts
        ended(end, to);
      }
    } else if (frame instanceof Http2ResetFrame) {
      to.resetAfterWrites();
    } else {
      ReferenceCountUtil.release(frame);
    }
  }

  /** {@code from}'s input ended: END_STREAM to {@code to}, behind every frame before it. */
  private void ended(LinkStreams.End from, LinkStreams.End to) {
    markEnded(from);
    if (!to.isClosed()) {
      to.write(new DefaultHttp2DataFrame(true));
      to.flush();
    }
  }

  private void markEnded(LinkStreams.End from) {
    if (from == front) {
      frontEnded = true;
    } else {
      nodeEnded = true;
    }
  }

  /**
   * A stream closes normally once its END_STREAM came in and went out, i.e. both ways ended: then
   * the other closes by itself as its last frames go. Any other close (a reset, a connection gone)
   * resets the other.
   */
  @Override
  public void onClosed(LinkStreams.End end) {
    if (!(frontEnded && nodeEnded)) {
      (end == front ? node : front).resetAfterWrites();
    }
  }

  private void resetBoth() {
    front.reset();
    node.reset();
  }
}
