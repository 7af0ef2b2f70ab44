package dev.funnel.terminator.gate;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * The request body as the gate handles it, and the contract with the route's target:
 *
 * <ul>
 *   <li>{@link #read} reads the body once, whole and bounded (a webhook's signature covers the raw
 *       bytes), and leaves it under {@link GateChain#BUFFERED_BODY}: the target sends that buffer,
 *       byte for byte, instead of reading the request (which has ended).</li>
 *   <li>{@link BodyCap} only checks {@code Content-Length}; a body without one streams on, and the
 *       target enforces {@link #limit} as the bytes pass (the terminator's forwarder wraps the body
 *       in a capped stream) and calls {@link Limit#onOverflow} before answering {@code 413}.</li>
 * </ul>
 *
 * Hand-written rather than Vert.x Web's {@code BodyHandler}: that handler decodes form bodies into
 * attributes and keeps multipart bodies out of {@code ctx.body()}, and a webhook check needs the raw
 * bytes of any body, passed on intact.
 */
public final class GateBody {

  static final String BODY_KEY = GateChain.BUFFERED_BODY;
  static final String LIMIT_KEY = "funnel.gate.body-limit";

  /** The body is larger than the limit (known from {@code Content-Length}, or counted while reading). */
  public static final class TooLarge extends RuntimeException {
    private final boolean early;

    TooLarge(long limit, boolean early) {
      super("body larger than " + limit + " bytes" + (early ? " (Content-Length)" : ""), null, false, false);
      this.early = early;
    }

    /** True when {@code Content-Length} said so before any byte was read. */
    public boolean early() {
      return early;
    }
  }

  /** A streaming cap for the target: the byte limit and what to call when a body goes over it. */
  public record Limit(long bytes, Runnable onOverflow) {
  }

  private GateBody() {
  }

  /** The body a gate read, which the target must send instead of reading the request; empty if none did. */
  public static Optional<Buffer> get(RoutingContext ctx) {
    return Optional.ofNullable(ctx.get(BODY_KEY));
  }

  /** The cap the target enforces on a streamed body; empty when the route has none. */
  public static Optional<Limit> limit(RoutingContext ctx) {
    return Optional.ofNullable(ctx.get(LIMIT_KEY));
  }

  static void limit(RoutingContext ctx, Limit limit) {
    Limit current = ctx.get(LIMIT_KEY);
    if (current == null || limit.bytes() < current.bytes()) {
      ctx.put(LIMIT_KEY, limit);
    }
  }

  /** The declared {@code Content-Length}, or -1 when absent or unreadable. */
  static long contentLength(HttpServerRequest request) {
    String value = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (value == null || value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return -1;
    }
    return Long.parseLong(value);
  }

  /**
   * Reads the whole body, at most {@code limit} bytes, once per request (a second call gets the
   * same buffer). Fails with {@link TooLarge} as soon as the body is known to be larger, without
   * reading further. Call it in the same event-loop turn the request arrived in, or with the request
   * paused: bytes that arrived with nobody reading are gone.
   */
  public static Future<Buffer> read(RoutingContext ctx, long limit) {
    Buffer done = ctx.get(BODY_KEY);
    if (done != null) {
      return Future.succeededFuture(done);
    }
    HttpServerRequest request = ctx.request();
    long declared = contentLength(request);
    if (declared > limit) {
      return Future.failedFuture(new TooLarge(limit, true));
    }
    boolean noBody = declared == 0 || (declared < 0 && request.version() != HttpVersion.HTTP_2
        && !request.headers().contains(HttpHeaders.TRANSFER_ENCODING));
    if (noBody) {
      Buffer empty = Buffer.buffer();
      ctx.put(BODY_KEY, empty);
      return Future.succeededFuture(empty);
    }
    if (request.isEnded()) {
      return Future.failedFuture(new IllegalStateException("the request body was read before the gate could check it"));
    }
    String expect = request.getHeader(HttpHeaders.EXPECT);
    if (expect != null && expect.equalsIgnoreCase("100-continue") && request.version() == HttpVersion.HTTP_1_1) {
      ctx.response().writeContinue();
    }
    Promise<Buffer> promise = Promise.promise();
    Buffer body = Buffer.buffer((int) Math.max(0, Math.min(declared, 64 * 1024)));
    request.handler(chunk -> {
      if (body.length() + (long) chunk.length() > limit) {
        request.handler(null);
        request.pause();
        promise.tryFail(new TooLarge(limit, false));
        return;
      }
      body.appendBuffer(chunk);
    });
    request.exceptionHandler(promise::tryFail);
    request.endHandler(v -> {
      ctx.put(BODY_KEY, body);
      promise.tryComplete(body);
    });
    request.resume();
    return promise.future();
  }
}
