package dev.funnel.terminator.gate;

import dev.funnel.common.serve.GatePolicy;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Makes the handler that enforces one {@link GateChain.Step} of a route's policy.
 *
 * <p>Contract: called only when the policy {@link GateChain.Step#asks asks} for the step, once per
 * route each time a port's router is built (at start, on every run-time change, and on each of the
 * terminator's event loops). It may complete later (reading a secret file, discovering an OIDC
 * issuer — never blocking the event loop); a failed future refuses the whole change. The handler
 * either calls {@code ctx.next()} (the request passes) or ends the response itself (refusal: a
 * short {@code text/plain} body, {@code Cache-Control: no-store}) after one log line with the
 * reason and one {@link GateContext#decisions()} count. State that must outlive a rebuild or be
 * common to the event loops (token buckets, counters) goes in {@link GateContext#shared}.
 */
@FunctionalInterface
public interface GateFactory {

  Future<Handler<RoutingContext>> create(GatePolicy policy, GateContext context);
}
