package dev.funnel.terminator;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A body stream passed through unchanged (same back-pressure: pause, resume and fetch go to the
 * source) that runs a callback when it ends and can refuse to carry more than a byte limit.
 *
 * <p>It exists because vertx-http-proxy owns the pipe from the client's request into the backend
 * request: wrapping the {@link io.vertx.httpproxy.Body} is the one place to learn "the request has
 * been sent whole" (when the backend's response timeout starts), and to bound the one case where
 * the proxy buffers (an HTTP/1.0 client and a response of unknown length).
 *
 * <p>Once the source has ended, {@code resume}/{@code fetch} are not passed on: vertx-http-proxy
 * resumes the request body when it answers with its own error page, and an HTTP/2 server request
 * that has been read to its end throws on resume ("Request has already been read"), which would
 * leave the client without any answer.
 */
final class ObservedStream implements ReadStream<Buffer> {

  /** Thrown into the pipe when a capped stream goes over its limit. */
  static final class TooLarge extends RuntimeException {
    TooLarge(long limit) {
      super("body larger than " + limit + " bytes", null, false, false);
    }
  }

  private final ReadStream<Buffer> source;
  private final Runnable onEnd;
  private final long limit;
  private Runnable onOverflow = () -> { };
  private long seen;
  private boolean failed;
  private boolean ended;
  private Handler<Throwable> exceptionHandler;

  private ObservedStream(ReadStream<Buffer> source, Runnable onEnd, long limit) {
    this.source = source;
    this.onEnd = onEnd;
    this.limit = limit;
  }

  /** {@code source}, running {@code onEnd} once when it ends. */
  static ObservedStream onEnd(ReadStream<Buffer> source, Runnable onEnd) {
    return new ObservedStream(source, onEnd, Long.MAX_VALUE);
  }

  /** {@code source}, failing with {@link TooLarge} once more than {@code limit} bytes went by. */
  static ObservedStream capped(ReadStream<Buffer> source, long limit) {
    return new ObservedStream(source, () -> { }, limit);
  }

  /**
   * {@link #capped(ReadStream, long)}, running {@code onOverflow} first when the limit is passed
   * (the pipe's failure that follows may not carry {@link TooLarge}: vertx-http-proxy resets the
   * backend request and fails with that).
   */
  static ObservedStream capped(ReadStream<Buffer> source, long limit, Runnable onOverflow) {
    ObservedStream stream = new ObservedStream(source, () -> { }, limit);
    stream.onOverflow = onOverflow;
    return stream;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    source.exceptionHandler(handler);
    return this;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    if (handler == null) {
      source.handler(null);
      return this;
    }
    source.handler(buffer -> {
      if (failed) {
        return;
      }
      seen += buffer.length();
      if (seen > limit) {
        failed = true;
        source.pause();
        onOverflow.run();
        Handler<Throwable> h = exceptionHandler;
        if (h != null) {
          h.handle(new TooLarge(limit));
        }
        return;
      }
      handler.handle(buffer);
    });
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    source.pause();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    if (!failed && !ended) {
      source.resume();
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    if (!failed && !ended) {
      source.fetch(amount);
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    if (endHandler == null) {
      source.endHandler(null);
      return this;
    }
    source.endHandler(v -> {
      ended = true;
      if (failed) {
        return;
      }
      onEnd.run();
      endHandler.handle(v);
    });
    return this;
  }
}
