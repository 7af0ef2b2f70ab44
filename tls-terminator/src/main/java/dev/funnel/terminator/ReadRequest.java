package dev.funnel.terminator;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.internal.http.HttpServerRequestInternal;
import io.vertx.core.internal.http.HttpServerRequestWrapper;

/**
 * A request whose body a gate has read to its end ({@code GateChain.BUFFERED_BODY}), handed to
 * vertx-http-proxy, which sends the buffered bytes instead. Its only difference: {@code pause()} and
 * {@code resume()} do nothing once the request has ended. vertx-http-proxy pauses every request it
 * is given ({@code ProxyRequest.reverseProxy}), and Vert.x 5.0.10's HTTP/2 request throws
 * "Request has already been read" when paused after its end (HTTP/1.x does not), which would turn
 * every verified HTTP/2 webhook into a 500. The one use of Vert.x's internal wrapper in this module:
 * vertx-http-proxy itself requires {@code HttpServerRequestInternal}.
 */
final class ReadRequest extends HttpServerRequestWrapper {

  ReadRequest(HttpServerRequest delegate) {
    super((HttpServerRequestInternal) delegate);
  }

  @Override
  public HttpServerRequest pause() {
    return isEnded() ? this : super.pause();
  }

  @Override
  public HttpServerRequest resume() {
    return isEnded() ? this : super.resume();
  }
}
