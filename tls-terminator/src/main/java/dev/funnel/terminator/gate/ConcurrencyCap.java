package dev.funnel.terminator.gate;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cap on the requests a route has in flight to its backend at once (over all clients and event
 * loops): one more gets {@code 503} with {@code Retry-After: 1}. A request leaves the count when
 * its exchange ends, whichever way (answered, reset, connection closed).
 */
public final class ConcurrencyCap implements Handler<RoutingContext> {

  public static final long RETRY_AFTER_SECONDS = 1;

  private final int max;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final GateDecisions decisions;

  public ConcurrencyCap(int max, GateDecisions decisions) {
    if (max < 1) {
      throw new IllegalArgumentException("concurrency cap must be at least 1, not " + max);
    }
    this.max = max;
    this.decisions = decisions.register(Rule.CONCURRENCY, Outcome.BUSY);
  }

  @Override
  public void handle(RoutingContext ctx) {
    int now = inFlight.incrementAndGet();
    if (now > max) {
      inFlight.decrementAndGet();
      decisions.refused(Rule.CONCURRENCY, Outcome.BUSY, ClientAddress.printable(ClientAddress.of(ctx.request())),
          max + " requests already in flight to the backend");
      Refusal.send(ctx, 503, "Service Unavailable: too many requests in flight, retry shortly", RETRY_AFTER_SECONDS);
      return;
    }
    ctx.addEndHandler(done -> inFlight.decrementAndGet());
    decisions.allowed(Rule.CONCURRENCY);
    ctx.next();
  }

  /** Requests in flight now (for tests and {@code serve list}). */
  public int inFlight() {
    return inFlight.get();
  }

  public int max() {
    return max;
  }
}
