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
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Opens one stream on an HTTP/2 link connection as a Netty child channel (a {@link PeekedConnection}
 * with {@link Http2StreamBytes} and {@link StreamHead}), the way Funnel did before
 * {@link LinkStreams}: the tests' fakes of the other side of a link use it, so the production
 * {@link LinkStreams} is always checked against Netty's own multiplex handler. Shared through this
 * module's test-jar.
 */
public final class StreamOpener {

  private StreamOpener() {
  }

  /** Queued DATA frames one {@code read()} of a stream delivers before its read-complete (one flush downstream). */
  static final int FRAMES_PER_READ = 16;

  /** {@link #open(Channel, Http2Headers, ByteBuf, long)} without early bytes. */
  public static Future<OpenAnswer> open(Channel connection, Http2Headers request, long timeoutMillis) {
    return open(connection, request, Unpooled.EMPTY_BUFFER, timeoutMillis);
  }

  /**
   * Opens a stream on {@code connection}, writes {@code request} (no END_STREAM) and, in the same
   * flush, {@code early} as DATA when it holds any, then awaits the answer's head. Takes
   * {@code early}: it is written or released, whatever happens.
   */
  public static Future<OpenAnswer> open(Channel connection, Http2Headers request, ByteBuf early, long timeoutMillis) {
    Promise<OpenAnswer> answer = connection.eventLoop().newPromise();
    ScheduledFuture<?>[] timer = new ScheduledFuture<?>[1];
    new Http2StreamChannelBootstrap(connection)
        .option(ChannelOption.AUTO_READ, false)
        .handler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel stream) {
            batchReads(stream);
            stream.pipeline().addLast(Http2StreamBytes.NAME, new Http2StreamBytes());
            stream.pipeline().addLast(StreamHead.NAME, new StreamHead((headers, peeked) -> {
              cancel(timer);
              int status = IngressAnswer.status(headers);
              if (status == 200) {
                if (!answer.trySuccess(new OpenAnswer.Accepted<>(headers, peeked))) {
                  peeked.bytes().release();
                  stream.close();
                }
              } else {
                peeked.bytes().release();
                stream.close();
                answer.trySuccess(new OpenAnswer.Refused(headers, status));
              }
            }, () -> {
              cancel(timer);
              answer.tryFailure(new OpenAnswer.Unanswered("the stream closed before an answer"
                  + (connection.isActive() ? "" : " (its connection closed)"), !connection.isActive(), false));
            }));
          }
        })
        .open()
        .addListener(opened -> {
          if (!opened.isSuccess()) {
            early.release();
            answer.tryFailure(new OpenAnswer.Unanswered("could not open a stream: " + opened.cause(), true, false));
            return;
          }
          Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
          // Until the answer, the link is probed: a link that went silent fails this offer as a
          // retryable close long before the timer below (LinkKeepalive).
          Links.awaitingAnswer(connection);
          answer.addListener(done -> Links.answered(connection));
          timer[0] = stream.eventLoop().schedule(() -> {
            if (answer.tryFailure(new OpenAnswer.Unanswered("no answer within " + timeoutMillis + " ms", false, true))) {
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
              answer.tryFailure(new OpenAnswer.Unanswered("could not send the request: " + written.cause(), true, false));
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

  /**
   * Lets one {@code read()} of a stream with auto-read off deliver every queued frame (up to
   * {@link #FRAMES_PER_READ}), as auto-read would: Netty's default handle stops after one frame
   * when auto-read is off, so a splice would flush once per frame.
   */
  static void batchReads(Channel stream) {
    stream.config().setRecvByteBufAllocator(BatchReads.INSTANCE);
  }

  private static final class BatchReads implements RecvByteBufAllocator {
    static final BatchReads INSTANCE = new BatchReads();

    @Override
    public Handle newHandle() {
      return new Counting();
    }

    /** Counts frames; a stream channel allocates nothing through it. */
    private static final class Counting implements RecvByteBufAllocator.ExtendedHandle {
      private int frames;
      private int lastBytes;
      private int attempted;

      @Override
      public ByteBuf allocate(ByteBufAllocator alloc) {
        return alloc.ioBuffer(guess());
      }

      @Override
      public int guess() {
        return 1024;
      }

      @Override
      public void reset(ChannelConfig config) {
        frames = 0;
      }

      @Override
      public void incMessagesRead(int numMessages) {
        frames += numMessages;
      }

      @Override
      public void lastBytesRead(int bytes) {
        lastBytes = bytes;
      }

      @Override
      public int lastBytesRead() {
        return lastBytes;
      }

      @Override
      public void attemptedBytesRead(int bytes) {
        attempted = bytes;
      }

      @Override
      public int attemptedBytesRead() {
        return attempted;
      }

      @Override
      public boolean continueReading() {
        return frames < FRAMES_PER_READ;
      }

      @Override
      public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
        return continueReading();
      }

      @Override
      public void readComplete() {
      }
    }
  }
}
