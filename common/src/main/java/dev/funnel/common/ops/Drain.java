package dev.funnel.common.ops;

import static java.lang.System.Logger.Level.INFO;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The first step of a service's clean stop (SIGTERM, Ctrl-C): once nothing new comes in (a
 * frontend's public listeners are closed; a gateway's nodes were told to log in elsewhere), what it
 * carries gets until a deadline to end on its own (a download, an upload, a WebSocket in flight
 * during a deploy). What is still open then, idle keep-alive connections mostly, is closed by the
 * service when its drain completes (a frontend closes its public connections at once) or by the
 * stop that follows.
 *
 * @param who     the service as its log lines name it ("frontend fe-1")
 * @param stopped what no longer comes in ("new connections are refused")
 * @param what    what it waits for, plural ("connection(s)")
 */
public record Drain(String who, String stopped, String what) {

  private static final System.Logger LOG = System.getLogger(Drain.class.getName());

  /** How often the open count is read while draining. */
  public static final long POLL_MILLIS = 50;

  /** {@code millis} as a log line says seconds: "10", or "2.5". */
  public static String seconds(long millis) {
    return millis % 1000 == 0 ? String.valueOf(millis / 1000) : String.valueOf(millis / 1000.0);
  }

  /** Whether the drain is over: nothing is open, or the deadline has passed. */
  public static boolean over(int open, long nowMillis, long deadlineMillis) {
    return open == 0 || nowMillis >= deadlineMillis;
  }

  /** As {@link #run(Vertx, Future, IntSupplier, long, LongSupplier)}, on the monotonic clock. */
  public Future<Integer> run(Vertx vertx, Future<?> begun, IntSupplier open, long timeoutMillis) {
    return run(vertx, begun, open, timeoutMillis, () -> System.nanoTime() / 1_000_000);
  }

  /**
   * Once {@code begun} completes, waits until {@code open} reads 0 or {@code timeoutMillis} passed;
   * completes with the count still open then (0 when everything ended).
   */
  public Future<Integer> run(Vertx vertx, Future<?> begun, IntSupplier open, long timeoutMillis,
                             LongSupplier clockMillis) {
    return begun.transform(ignored -> {
      long started = clockMillis.getAsLong();
      long deadline = started + timeoutMillis;
      int atStart = open.getAsInt();
      if (over(atStart, started, deadline)) {
        return Future.succeededFuture(atStart);
      }
      String seconds = seconds(timeoutMillis);
      LOG.log(INFO, "{0}: stopping: {1}; {2} open {3} get up to {4} s to end (a second SIGTERM or Ctrl-C stops"
          + " at once)", who, stopped, String.valueOf(atStart), what, seconds);
      Promise<Integer> drained = Promise.promise();
      poll(vertx, open, clockMillis, started, deadline, drained);
      return drained.future();
    });
  }

  /**
   * Without a log line: completes once {@code open} reads 0 or {@code timeoutMillis} passed, with
   * the count then (what a drain that closed its connections waits for: their ends).
   */
  public static Future<Integer> awaitZero(Vertx vertx, IntSupplier open, long timeoutMillis) {
    long deadline = System.nanoTime() / 1_000_000 + timeoutMillis;
    Promise<Integer> zero = Promise.promise();
    awaitZero(vertx, open, deadline, zero);
    return zero.future();
  }

  private static void awaitZero(Vertx vertx, IntSupplier open, long deadline, Promise<Integer> zero) {
    int left = open.getAsInt();
    if (over(left, System.nanoTime() / 1_000_000, deadline)) {
      zero.tryComplete(left);
      return;
    }
    vertx.setTimer(POLL_MILLIS, timer -> awaitZero(vertx, open, deadline, zero));   // one-shot: see poll
  }

  /**
   * Reads the open count every {@link #POLL_MILLIS} until the drain is over, on a one-shot timer set
   * again each time. Not a periodic timer that cancels itself: {@code begun} may complete on a thread
   * outside the timer's event loop, and in Vert.x 5.0.10 such a timer can run before
   * {@code setPeriodic} has stored its future, so that cancelling it from its handler throws a
   * NullPointerException ({@code InternalTimerHandler.tryCancel}) and the drain would never end.
   */
  private void poll(Vertx vertx, IntSupplier open, LongSupplier clockMillis, long started, long deadline,
                    Promise<Integer> drained) {
    vertx.setTimer(POLL_MILLIS, timer -> {
      long now = clockMillis.getAsLong();
      int left = open.getAsInt();
      if (!over(left, now, deadline)) {
        poll(vertx, open, clockMillis, started, deadline, drained);
        return;
      }
      if (left == 0) {
        LOG.log(INFO, "{0}: drained: the open {1} ended within {2} ms", who, what, String.valueOf(now - started));
      } else {
        LOG.log(INFO, "{0}: {1} {2} still open after {3} s of draining are closed now", who, String.valueOf(left),
            what, seconds(deadline - started));
      }
      drained.tryComplete(left);
    });
  }
}
