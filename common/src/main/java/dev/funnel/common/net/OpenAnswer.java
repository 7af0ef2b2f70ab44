package dev.funnel.common.net;

import io.netty.handler.codec.http2.Http2Headers;

/**
 * How the open of a stream on a link connection ended ({@link LinkStreams#open}): the request head
 * went out (the client's first bytes, its ClientHello, as DATA in the same flush: the peer holds
 * them, within the stream's window, until it has decided, and drops them with the stream when it
 * refuses; a tunnel's setup costs one round trip over the link, not two) and the answer's head came
 * within the deadline, or not. The open's future fails only with {@link Unanswered}.
 */
public sealed interface OpenAnswer {

  /**
   * {@code 200}: the stream, ready to splice (with whatever came right behind the answer): a
   * {@link LinkStreams.End} from {@link LinkStreams#open} (tests' openers on child channels give a
   * {@link PeekedConnection}).
   */
  public record Accepted<S>(Http2Headers headers, S stream) implements OpenAnswer {
  }

  /** Any other status: the stream is closed. */
  public record Refused(Http2Headers headers, int status) implements OpenAnswer {
  }

  /**
   * No answer: the stream could not be opened, or it or its connection closed first, or the
   * deadline passed. {@code retryable}: nothing reached the peer's application for sure (the
   * stream never opened, or the connection died before an answer), so another connection may try.
   */
  final class Unanswered extends RuntimeException {
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
}
