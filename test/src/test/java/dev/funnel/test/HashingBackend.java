package dev.funnel.test;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A backend for gate tests: a plain HTTP/1.1 server on 127.0.0.1:0 that answers every request with
 * {@code "SHA256HEX LENGTH"} of the body it received, and keeps a list of what reached it (path and
 * body hash), so a test can say "the backend saw nothing" or "saw exactly these bytes".
 */
final class HashingBackend implements AutoCloseable {

  /** One request that reached the backend. */
  record Hit(String method, String path, String sha256, int length) {
  }

  private final HttpServer server;
  private final List<Hit> hits = new CopyOnWriteArrayList<>();

  HashingBackend(Vertx vertx) throws Exception {
    this.server = vertx.createHttpServer(new HttpServerOptions()).requestHandler(req -> req.body().onSuccess(body -> {
      String hash = sha256Hex(body);
      hits.add(new Hit(req.method().name(), req.path(), hash, body.length()));
      req.response().putHeader("Content-Type", "text/plain").end(hash + " " + body.length());
    }));
    server.listen(0, "127.0.0.1").await(20, TimeUnit.SECONDS);
  }

  int port() {
    return server.actualPort();
  }

  /** Requests that reached the backend whose path starts with {@code prefix}. */
  List<Hit> hits(String prefix) {
    return hits.stream().filter(h -> h.path().startsWith(prefix)).toList();
  }

  static String sha256Hex(Buffer body) {
    return sha256Hex(body.getBytes());
  }

  static String sha256Hex(byte[] body) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    server.close().await(20, TimeUnit.SECONDS);
  }
}
