package dev.funnel.terminator.gate;

import dev.funnel.common.serve.RateLimiter;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;

/**
 * {@link GateChain.Step#RATE_LIMIT}: {@code --rate-limit N/s} per client address
 * ({@link RateLimiter}); over it, {@code 429} with {@code Retry-After} (seconds until that address's
 * bucket is full again). The buckets are the route's, shared by every event loop and kept across
 * rebuilds while the rate stays the same. Outcomes: {@code allowed}, {@code limited}.
 */
public final class RateGate implements Handler<RoutingContext> {

  /** Makes the handler; the limiter is shared per port, route and rate ({@link GateContext#shared}). */
  public static final GateFactory FACTORY = (policy, context) -> Future.succeededFuture(new RateGate(
      context.shared("rate-limiter " + policy.rateLimit(), () -> new RateLimiter(policy.rateLimit())),
      StepRecord.of(GateChain.Step.RATE_LIMIT, context)));

  private final RateLimiter limiter;
  private final StepRecord record;

  RateGate(RateLimiter limiter, StepRecord record) {
    this.limiter = limiter;
    this.record = record;
  }

  @Override
  public void handle(RoutingContext ctx) {
    InetAddress client = ClientAddress.inet(ctx.request());
    RateLimiter.Permit permit = limiter.acquire(client);
    if (!permit.allowed()) {
      record.refused("limited", ClientAddress.printable(client), "over " + limiter.rate()
          + " per client address; retry after " + permit.retryAfterSeconds() + " s");
      Refusal.send(ctx, 429, "Too Many Requests", permit.retryAfterSeconds());
      return;
    }
    record.allowed();
    ctx.next();
  }
}
