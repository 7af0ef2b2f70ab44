package dev.funnel.launcher;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;

/** The demo's "web app on the node": a small page that shows what reached it through Funnel. */
final class HelloBackend extends VerticleBase {

  private HttpServer server;

  int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer();
    return server.requestHandler(HelloBackend::answer).listen(0, "127.0.0.1");
  }

  private static void answer(HttpServerRequest request) {
    String body = "Hello from a private machine, through Funnel!\n\n"
        + "host:              " + request.authority() + "\n"
        + "path:              " + request.uri() + "\n"
        + "protocol:          " + request.version() + "\n"
        + "X-Forwarded-For:   " + request.getHeader("X-Forwarded-For") + "\n"
        + "X-Forwarded-Proto: " + request.getHeader("X-Forwarded-Proto") + "\n"
        + "Funnel-Request:    " + request.getHeader("Funnel-Request") + "\n";
    request.response().putHeader("content-type", "text/plain; charset=utf-8").end(body);
  }
}
