package dev.funnel.terminator.gate;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;

/** The answers the gate gives: short {@code text/plain}, the reason staying in the node's log. */
final class Refusal {

  private Refusal() {
  }

  /**
   * Ends the exchange with {@code status} and {@code text}; a positive {@code retryAfterSeconds}
   * adds {@code Retry-After}. When the request body has not been read, an HTTP/1.x connection is
   * closed after the answer (so an unread body is not drained or taken for the next request).
   */
  static void send(RoutingContext ctx, int status, String text, long retryAfterSeconds) {
    HttpServerResponse response = ctx.response();
    if (response.headWritten()) {
      ctx.request().connection().close();
      return;
    }
    response.setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
    if (retryAfterSeconds > 0) {
      response.putHeader("Retry-After", Long.toString(retryAfterSeconds));
    }
    if (!ctx.request().isEnded() && ctx.request().version() != HttpVersion.HTTP_2) {
      response.putHeader(HttpHeaders.CONNECTION, "close");
    }
    response.end(text + "\n");
  }
}
