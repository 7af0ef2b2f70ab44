package dev.funnel.common.net;

import dev.funnel.common.peerapi.IngressAnswer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Opens one stream on an HTTP/2 link connection (as its client), sends a request head and reads
 * the answer's head within a deadline. Used by the gateway to offer a tunnel to a node and by a
 * frontend to open one through a gateway. The client's first bytes (its ClientHello) may go with
 * the head, as DATA in the same flush, before the answer: the peer holds them, within the stream's
 * window, until it has decided, and drops them with the stream when it refuses. A tunnel's setup
 * then costs one round trip over the link, not two.
 */
public final class StreamOpener {

  /** How an open ended (the future fails only with {@link Unanswered}). */
  public sealed interface Answer {
  }

  /**
   * {@code 200}: the stream, ready to splice (with whatever came right behind the answer): a
   * {@link PeekedConnection} from {@link #open}, or a frame-level stream from another opener.
   */
  public record Accepted<S>(Http2Headers headers, S stream) implements Answer {
  }

  /** Any other status: the stream is closed. */
  public record Refused(Http2Headers headers, int status) implements Answer {
  }

  /**
   * No answer: the stream could not be opened, or it or its connection closed first, or the
   * deadline passed. {@code retryable}: nothing reached the peer's application for sure (the
   * stream never opened, or the connection died before an answer), so another connection may try.
   */
  public static final class Unanswered extends RuntimeException {
    private final boolean retryable;
    private final boolean timedOut;

    public Unanswered(String message, boolean retryable, boolean timedOut) {
      super(message, null, false, false);
      this.retryable = retryable;
      this.timedOut = timedOut;
    }

    public boolean retryable() {
      return retryable;
    }

    public boolean timedOut() {
      return timedOut;
    }
  }

  private StreamOpener() {
  }

  /** {@link #open(Channel, Http2Headers, ByteBuf, long)} without early bytes. */
  public static Future<Answer> open(Channel connection, Http2Headers request, long timeoutMillis) {
    return open(connection, request, Unpooled.EMPTY_BUFFER, timeoutMillis);
  }

  /**
   * Opens a stream on {@code connection}, writes {@code request} (no END_STREAM) and, in the same
   * flush, {@code early} as DATA when it holds any, then awaits the answer's head. Takes
   * {@code early}: it is written or released, whatever happens.
   */
  public static Future<Answer> open(Channel connection, Http2Headers request, ByteBuf early, long timeoutMillis) {
    Promise<Answer> answer = connection.eventLoop().newPromise();
    ScheduledFuture<?>[] timer = new ScheduledFuture<?>[1];
    new Http2StreamChannelBootstrap(connection)
        .option(ChannelOption.AUTO_READ, false)
        .handler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel stream) {
            Links.batchReads(stream);
            stream.pipeline().addLast(Http2StreamBytes.NAME, new Http2StreamBytes());
            stream.pipeline().addLast(StreamHead.NAME, new StreamHead((headers, peeked) -> {
              cancel(timer);
              int status = IngressAnswer.status(headers);
              if (status == 200) {
                if (!answer.trySuccess(new Accepted<>(headers, peeked))) {
                  peeked.bytes().release();
                  stream.close();
                }
              } else {
                peeked.bytes().release();
                stream.close();
                answer.trySuccess(new Refused(headers, status));
              }
            }, () -> {
              cancel(timer);
              answer.tryFailure(new Unanswered("the stream closed before an answer"
                  + (connection.isActive() ? "" : " (its connection closed)"), !connection.isActive(), false));
            }));
          }
        })
        .open()
        .addListener(opened -> {
          if (!opened.isSuccess()) {
            early.release();
            answer.tryFailure(new Unanswered("could not open a stream: " + opened.cause(), true, false));
            return;
          }
          Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
          // Until the answer, the link is probed: a link that went silent fails this offer as a
          // retryable close long before the timer below (LinkKeepalive).
          Links.awaitingAnswer(connection);
          answer.addListener(done -> Links.answered(connection));
          timer[0] = stream.eventLoop().schedule(() -> {
            if (answer.tryFailure(new Unanswered("no answer within " + timeoutMillis + " ms", false, true))) {
              stream.close();
            }
          }, timeoutMillis, TimeUnit.MILLISECONDS);
          DefaultHttp2HeadersFrame head = new DefaultHttp2HeadersFrame(request, false);
          ChannelFuture sent;
          if (early.isReadable()) {
            stream.write(head);
            sent = stream.writeAndFlush(new DefaultHttp2DataFrame(early, false));
          } else {
            early.release();
            sent = stream.writeAndFlush(head);
          }
          sent.addListener(written -> {
            if (!written.isSuccess()) {
              cancel(timer);
              answer.tryFailure(new Unanswered("could not send the request: " + written.cause(), true, false));
              stream.close();
            }
          });
          stream.read();
        });
    return answer;
  }

  private static void cancel(ScheduledFuture<?>[] timer) {
    if (timer[0] != null) {
      timer[0].cancel(false);
    }
  }

}
