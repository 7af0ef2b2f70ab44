package dev.funnel.terminator;

import io.micrometer.core.instrument.Timer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

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

  /**
   * Starts the clock on the request of {@code ctx} and counts it once, when its response ends or
   * its client goes away. Through the router's end handlers (which own the response's end, close
   * and exception handlers), not the response's own.
   */
  static Exchange track(RoutingContext ctx, TerminatorMetrics metrics, int port) {
    Exchange exchange = new Exchange(metrics, port);
    HttpServerResponse response = ctx.response();
    // HTTP/2 may close the stream (a failed end result here) as the last frame goes out: ended counts.
    ctx.addEndHandler(ar -> {
      if (ar.succeeded() || response.ended()) {
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
