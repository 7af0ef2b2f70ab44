package dev.funnel.common.net;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.TimeUnit;
import dev.funnel.common.peerapi.IngressAnswer;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * What a stream opened by {@link LinkStreams#open} listens with until the answer's head: {@code 200}
 * → {@link OpenAnswer.Accepted} with the end, its later frames held for the splice; another
 * status → {@link OpenAnswer.Refused} and a reset; DATA first, or the stream's close →
 * {@link OpenAnswer.Unanswered}. On the connection's loop.
 */
final class LinkStreamOpening implements LinkStreams.Listener {
  private final Promise<OpenAnswer> answer;
  /** The answer's deadline (set right after the request went out). */
  ScheduledFuture<?> timer;

  LinkStreamOpening(Promise<OpenAnswer> answer) {
    this.answer = answer;
  }

  /**
   * Watches the request's write ({@code sent}) and starts the answer's deadline: a failed write
   * fails the open (retryable: nothing reached the peer), no answer in time resets the stream.
   */
  void watch(ChannelHandlerContext ctx, LinkStreams.End end, ChannelFuture sent, long timeoutMillis) {
    sent.addListener(written -> {
      if (!written.isSuccess()) {
        cancel();
        answer.tryFailure(new OpenAnswer.Unanswered("could not send the request: " + written.cause(), true, false));
        if (end.stream().id() > 0) {
          end.reset();
        } else {
          end.forget();   // never opened: no CLOSED event will come
        }
      }
    });
    Links.awaitingAnswer(ctx.channel());
    answer.addListener(done -> Links.answered(ctx.channel()));
    timer = ctx.executor().schedule(() -> {
      if (answer.tryFailure(new OpenAnswer.Unanswered("no answer within " + timeoutMillis + " ms", false, true))) {
        end.reset();
      }
    }, timeoutMillis, TimeUnit.MILLISECONDS);
  }

  void cancel() {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  @Override
  public void onFrame(LinkStreams.End end, Http2StreamFrame frame) {
    if (frame instanceof Http2HeadersFrame head) {
      cancel();
      int status = IngressAnswer.status(head.headers());
      if (status == 200) {
        end.hold();   // what follows is held for the splice
        if (head.isEndStream()) {
          end.deliver(head);
        }
        if (!answer.trySuccess(new OpenAnswer.Accepted<>(head.headers(), end))) {
          end.reset();
        }
      } else {
        end.reset();
        answer.trySuccess(new OpenAnswer.Refused(head.headers(), status));
      }
      return;
    }
    ReferenceCountUtil.release(frame);
    if (frame instanceof Http2DataFrame) {
      cancel();
      end.reset();
      answer.tryFailure(new OpenAnswer.Unanswered("DATA before the answer", false, false));
    }
  }

  @Override
  public void onClosed(LinkStreams.End end) {
    cancel();
    boolean gone = !end.context().channel().isActive();
    answer.tryFailure(new OpenAnswer.Unanswered("the stream closed before an answer"
        + (gone ? " (its connection closed)" : ""), gone, false));
  }
}
