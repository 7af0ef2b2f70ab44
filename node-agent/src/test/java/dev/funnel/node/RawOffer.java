package dev.funnel.node;

import dev.funnel.common.peerapi.IngressAnswer;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.io.ByteArrayOutputStream;

/**
 * An offer written frame by frame on a {@link FakeGateway} link connection (a child channel, as
 * the gateway's side): what {@code StreamOpener} never sends, such as END_STREAM or RST_STREAM in
 * the same flush as the offer's HEADERS. Records the node's answer, the bytes after it and their end.
 */
final class RawOffer extends ChannelInboundHandlerAdapter {

  /** What goes with the HEADERS, in the same flush. */
  enum Then { NOTHING, END_STREAM_ON_HEADERS, END_STREAM_AFTER_EARLY, RESET }

  private final Promise<Http2Headers> answer = Promise.promise();
  private final Promise<byte[]> ended = Promise.promise();
  private final Promise<Void> closed = Promise.promise();
  private final ByteArrayOutputStream received = new ByteArrayOutputStream();
  private Http2StreamChannel stream;

  private RawOffer() {
  }

  /**
   * Opens a stream on {@code link} and writes {@code head}, then {@code early} as DATA (when not
   * empty) and {@code then}, in one flush.
   */
  static RawOffer open(Channel link, Http2Headers head, byte[] early, Then then) {
    return open(link, head, early, Math.max(1, early.length), then);
  }

  /**
   * As {@link #open(Channel, Http2Headers, byte[], Then)}, {@code early} in DATA frames of
   * {@code frameSize} bytes. When there are several, each is flushed on its own: Netty's flow
   * controller merges DATA frames that wait in it together.
   */
  static RawOffer open(Channel link, Http2Headers head, byte[] early, int frameSize, Then then) {
    RawOffer offer = new RawOffer();
    link.eventLoop().execute(() -> new Http2StreamChannelBootstrap(link).handler(offer).open().addListener(opened -> {
      if (!opened.isSuccess()) {
        offer.answer.tryFail(opened.cause());
        return;
      }
      Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
      offer.stream = stream;
      stream.closeFuture().addListener(f -> {
        offer.closed.tryComplete();
        offer.answer.tryFail("closed before an answer");
        offer.ended.tryFail("closed before END_STREAM");
      });
      boolean endOnHead = then == Then.END_STREAM_ON_HEADERS;
      stream.write(new DefaultHttp2HeadersFrame(head, endOnHead));
      for (int at = 0; at < early.length; at += frameSize) {
        int end = Math.min(early.length, at + frameSize);
        stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(early, at, end - at),
            end == early.length && then == Then.END_STREAM_AFTER_EARLY));
        if (frameSize < early.length) {
          stream.flush();
        }
      }
      if (then == Then.RESET) {
        stream.close();   // RST_STREAM, flushed with the frames before it
      } else {
        stream.flush();
      }
    }));
    return offer;
  }

  /** The node's answer (its status: {@link IngressAnswer#status}). */
  Future<Http2Headers> answer() {
    return answer.future();
  }

  /** Everything the node sent after its answer, once it sent END_STREAM. */
  Future<byte[]> ended() {
    return ended.future();
  }

  Future<Void> closed() {
    return closed.future();
  }

  /** {@code bytes} as one DATA frame, with END_STREAM when {@code end}, flushed. */
  void send(byte[] bytes, boolean end) {
    stream.eventLoop().execute(() -> stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(bytes), end)));
  }

  /** RST_STREAM (CANCEL), as a gateway whose client left. */
  void reset() {
    stream.eventLoop().execute(stream::close);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof Http2HeadersFrame head && !answer.future().isComplete()) {
        answer.tryComplete(head.headers());
        if (head.isEndStream()) {
          ended.tryComplete(received.toByteArray());
        }
      } else if (msg instanceof Http2DataFrame data) {
        data.content().readBytes(received, data.content().readableBytes());
        if (data.isEndStream()) {
          ended.tryComplete(received.toByteArray());
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }
}
