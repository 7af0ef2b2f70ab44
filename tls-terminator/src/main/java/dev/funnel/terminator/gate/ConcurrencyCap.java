package dev.funnel.terminator.gate;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link GateChain.Step#CONCURRENCY}: {@code --max-concurrent N}, the requests a route has in
 * flight to its target at once (over all clients and event loops; the count survives a rebuild):
 * one more gets {@code 503} with {@code Retry-After: 1}. A request leaves the count when its
 * exchange ends, whichever way (answered, reset, connection closed). Outcomes: {@code allowed},
 * {@code busy}.
 */
public final class ConcurrencyCap implements Handler<RoutingContext> {

  public static final long RETRY_AFTER_SECONDS = 1;

  /** Makes the handler; the in-flight count is the route's ({@link GateContext#shared}). */
  public static final GateFactory FACTORY = (policy, context) -> Future.succeededFuture(new ConcurrencyCap(
      policy.maxConcurrent(), context.shared("in-flight", AtomicInteger::new),
      StepRecord.of(GateChain.Step.CONCURRENCY, context)));

  private final int max;
  private final AtomicInteger inFlight;
  private final StepRecord record;

  ConcurrencyCap(int max, AtomicInteger inFlight, StepRecord record) {
    if (max < 1) {
      throw new IllegalArgumentException("concurrency cap must be at least 1, not " + max);
    }
    this.max = max;
    this.inFlight = inFlight;
    this.record = record;
  }

  @Override
  public void handle(RoutingContext ctx) {
    int now = inFlight.incrementAndGet();
    if (now > max) {
      inFlight.decrementAndGet();
      record.refused("busy", ClientAddress.printable(ClientAddress.inet(ctx.request())),
          max + (max == 1 ? " request" : " requests") + " already in flight to the target");
      Refusal.send(ctx, 503, "Service Unavailable: too many requests in flight, retry shortly", RETRY_AFTER_SECONDS);
      return;
    }
    ctx.addEndHandler(done -> inFlight.decrementAndGet());
    record.allowed();
    ctx.next();
  }

  /** Requests in flight now. */
  public int inFlight() {
    return inFlight.get();
  }
}
