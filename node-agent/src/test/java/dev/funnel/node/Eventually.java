package dev.funnel.node;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.function.BooleanSupplier;

/** Waits in a test for a condition that no event announces (a count, a gauge, a log line). */
final class Eventually {

  private Eventually() {
  }

  /**
   * Completes once {@code condition} holds, read every {@code everyMillis} on a one-shot timer set
   * again each time; the test's timeout bounds the wait. Not a periodic timer cancelled from its own
   * handler: set from a thread outside its event loop (a future's callback), in Vert.x 5.0.10 such a
   * timer can run before {@code setPeriodic} has stored its future, and {@code cancelTimer} then
   * throws a NullPointerException, so the wait never completed (IngressStreamTest timed out so once,
   * in a parallel build).
   */
  static Future<Void> eventually(Vertx vertx, long everyMillis, BooleanSupplier condition) {
    Promise<Void> done = Promise.promise();
    poll(vertx, everyMillis, condition, done);
    return done.future();
  }

  /** {@link #eventually(Vertx, long, BooleanSupplier)} every 10 ms. */
  static Future<Void> eventually(Vertx vertx, BooleanSupplier condition) {
    return eventually(vertx, 10, condition);
  }

  private static void poll(Vertx vertx, long everyMillis, BooleanSupplier condition, Promise<Void> done) {
    vertx.setTimer(everyMillis, id -> {
      if (condition.getAsBoolean()) {
        done.tryComplete();
      } else {
        poll(vertx, everyMillis, condition, done);
      }
    });
  }
}
