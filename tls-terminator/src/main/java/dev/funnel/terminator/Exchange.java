package dev.funnel.terminator;

import io.micrometer.core.instrument.Timer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/** One HTTP request's bookkeeping: counted exactly once, by the status it ended with. */
final class Exchange {

  private final TerminatorMetrics metrics;
  private final int port;
  private final Timer.Sample sample;
  private boolean done;

  private Exchange(TerminatorMetrics metrics, int port) {
    this.metrics = metrics;
    this.port = port;
    this.sample = metrics.start();
  }

  /** Starts the clock on {@code request} and counts it when its response ends or its client goes away. */
  static Exchange track(HttpServerRequest request, TerminatorMetrics metrics, int port) {
    Exchange exchange = new Exchange(metrics, port);
    HttpServerResponse response = request.response();
    response.endHandler(v -> exchange.done(response.getStatusCode()));
    // HTTP/2 closes the stream (calling this) as the last frame goes out, possibly before endHandler.
    response.closeHandler(v -> {
      if (response.ended()) {
        exchange.done(response.getStatusCode());
      } else {
        exchange.aborted();
      }
    });
    return exchange;
  }

  void done(int status) {
    finish(String.valueOf(status));
  }

  void aborted() {
    finish(TerminatorMetrics.ABORTED);
  }

  private void finish(String code) {
    if (done) {
      return;
    }
    done = true;
    metrics.requestDone(port, code, sample);
  }
}
