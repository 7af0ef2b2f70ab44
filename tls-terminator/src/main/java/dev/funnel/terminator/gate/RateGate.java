package dev.funnel.terminator.gate;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import dev.funnel.common.gate.RateLimiter;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;

/**
 * A rate limit per client address ({@link RateLimiter}): over it, {@code 429} with
 * {@code Retry-After} (seconds until that address's bucket is full again).
 */
public final class RateGate implements Handler<RoutingContext> {

  private final RateLimiter limiter;
  private final GateDecisions decisions;

  /** {@code limiter} is shared by every event loop serving the route (it is thread-safe). */
  public RateGate(RateLimiter limiter, GateDecisions decisions) {
    this.limiter = limiter;
    this.decisions = decisions.register(Rule.RATE, Outcome.LIMITED);
  }

  @Override
  public void handle(RoutingContext ctx) {
    InetAddress client = ClientAddress.of(ctx.request());
    RateLimiter.Permit permit = limiter.acquire(client);
    if (!permit.allowed()) {
      decisions.refused(Rule.RATE, Outcome.LIMITED, ClientAddress.printable(client), "over " + limiter.rate()
          + " per client address; retry after " + permit.retryAfterSeconds() + " s");
      Refusal.send(ctx, 429, "Too Many Requests", permit.retryAfterSeconds());
      return;
    }
    decisions.allowed(Rule.RATE);
    ctx.next();
  }
}
