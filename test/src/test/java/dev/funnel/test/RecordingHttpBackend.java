package dev.funnel.test;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The "web app on the node" for end-to-end tests: a plain HTTP/1.1 server on 127.0.0.1:0 that
 * records what reached it (request line and headers, keyed by the client's {@code X-Test-Id}), and:
 * <ul>
 *   <li>{@code PUT|POST /upload} — counts the body's bytes as they stream in, answers the count;</li>
 *   <li>{@code GET /download?bytes=N} — streams N bytes with back-pressure (Content-Length: N);</li>
 *   <li>a WebSocket on any path — echoes every message (text stays text, binary stays binary);</li>
 *   <li>anything else — {@code 200 hello}.</li>
 * </ul>
 * Nothing is buffered whole, so it can take and give a 1 GiB body.
 */
final class RecordingHttpBackend implements AutoCloseable {

  static final String TEST_ID = "X-Test-Id";

  /** What the backend saw of one request or WebSocket upgrade. */
  record Seen(String method, String uri, String version, MultiMap headers, long bodyBytes) {
  }

  private final HttpServer server;
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  final AtomicLong uploadBytes = new AtomicLong(-1);
  final AtomicLong downloadBytesWritten = new AtomicLong(-1);

  RecordingHttpBackend(Vertx vertx) throws Exception {
    this.server = vertx.createHttpServer(new HttpServerOptions()
            .setMaxWebSocketFrameSize(1 << 20).setMaxWebSocketMessageSize(1 << 20))
        .requestHandler(this::handle)
        .webSocketHandler(this::echo);
    server.listen(0, "127.0.0.1").await(20, TimeUnit.SECONDS);
  }

  int port() {
    return server.actualPort();
  }

  /** What the request carrying {@code X-Test-Id: id} looked like when it reached the backend; null if it never did. */
  Seen seen(String id) {
    return seen.get(id);
  }

  @Override
  public void close() throws Exception {
    server.close().await(20, TimeUnit.SECONDS);
  }

  private void handle(HttpServerRequest request) {
    String id = request.getHeader(TEST_ID);
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(request.headers());
    String path = request.path();
    if (path.equals("/upload")) {
      AtomicLong count = new AtomicLong();
      request.handler(buffer -> count.addAndGet(buffer.length()));
      request.endHandler(v -> {
        uploadBytes.set(count.get());
        record(id, request, headers, count.get());
        request.response().putHeader("content-type", "text/plain").end("received " + count.get() + "\n");
      });
      return;
    }
    record(id, request, headers, 0);
    if (path.equals("/download")) {
      long n = Long.parseLong(request.getParam("bytes"));
      HttpServerResponse response = request.response()
          .putHeader("content-type", "application/octet-stream")
          .putHeader("content-length", Long.toString(n));
      stream(response, n, Buffer.buffer(new byte[64 * 1024]), 0);
      return;
    }
    request.response().putHeader("content-type", "text/plain").end("hello\n");
  }

  /** Writes {@code left} more bytes, pausing on a full write queue. */
  private void stream(HttpServerResponse response, long left, Buffer chunk, long written) {
    long sent = written;
    long remaining = left;
    while (remaining > 0 && !response.writeQueueFull()) {
      int n = (int) Math.min(chunk.length(), remaining);
      response.write(n == chunk.length() ? chunk : chunk.slice(0, n));
      remaining -= n;
      sent += n;
    }
    if (remaining == 0) {
      downloadBytesWritten.set(sent);
      response.end();
      return;
    }
    long r = remaining;
    long s = sent;
    response.drainHandler(v -> stream(response, r, chunk, s));
  }

  private void echo(ServerWebSocket ws) {
    record(ws.headers().get(TEST_ID), ws.uri(), "WEBSOCKET", ws.headers());
    ws.textMessageHandler(text -> {
      ws.writeTextMessage(text);
      pauseWhileFull(ws);
    });
    ws.binaryMessageHandler(data -> {
      ws.writeBinaryMessage(data);
      pauseWhileFull(ws);
    });
  }

  private static void pauseWhileFull(ServerWebSocket ws) {
    if (ws.writeQueueFull()) {
      ws.pause();
      ws.drainHandler(v -> ws.resume());
    }
  }

  private void record(String id, HttpServerRequest request, MultiMap headers, long bodyBytes) {
    if (id != null) {
      seen.put(id, new Seen(request.method().name(), request.uri(), request.version().name(), headers, bodyBytes));
    }
  }

  private void record(String id, String uri, String kind, MultiMap headers) {
    if (id != null) {
      seen.put(id, new Seen("GET", uri, kind, MultiMap.caseInsensitiveMultiMap().addAll(headers), 0));
    }
  }
}
