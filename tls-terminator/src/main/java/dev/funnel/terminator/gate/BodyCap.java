package dev.funnel.terminator.gate;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * A cap on the request body: a {@code Content-Length} over it gets {@code 413} before a byte is
 * read (and the HTTP/1.x connection closes after the answer); a body without a length streams on
 * under {@link GateBody#limit}, which the target enforces.
 */
public final class BodyCap implements Handler<RoutingContext> {

  private final long maxBytes;
  private final GateDecisions decisions;

  public BodyCap(long maxBytes, GateDecisions decisions) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("body cap must not be negative");
    }
    this.maxBytes = maxBytes;
    this.decisions = decisions.register(Rule.BODY, Outcome.TOO_LARGE);
  }

  @Override
  public void handle(RoutingContext ctx) {
    long declared = GateBody.contentLength(ctx.request());
    String client = ClientAddress.printable(ClientAddress.of(ctx.request()));
    if (declared > maxBytes) {
      decisions.refused(Rule.BODY, Outcome.TOO_LARGE, client, "Content-Length " + declared + " is over the "
          + maxBytes + "-byte cap");
      Refusal.send(ctx, 413, "Content Too Large: the body may be at most " + maxBytes + " bytes", 0);
      return;
    }
    if (declared < 0) {
      GateBody.limit(ctx, new GateBody.Limit(maxBytes, () -> decisions.refused(Rule.BODY, Outcome.TOO_LARGE, client,
          "body went over the " + maxBytes + "-byte cap while streaming")));
    }
    decisions.allowed(Rule.BODY);
    ctx.next();
  }

  public long maxBytes() {
    return maxBytes;
  }
}
