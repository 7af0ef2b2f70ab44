package dev.funnel.terminator.gate;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * {@link GateChain.Step#BODY_CAP}: {@code --max-body}. A {@code Content-Length} over the cap gets
 * {@code 413} before a byte is read (and an HTTP/1.x connection closes after the answer); a body
 * without a length streams on under {@link GateBody#limit}, which the target enforces as the bytes
 * pass (the {@code http://} target answers {@code 413} if it can, else resets). Outcomes:
 * {@code allowed}, {@code too_large}.
 */
public final class BodyCap implements Handler<RoutingContext> {

  /** Makes the handler from the policy's cap. */
  public static final GateFactory FACTORY = (policy, context) -> Future.succeededFuture(
      new BodyCap(policy.maxBodyBytes(), StepRecord.of(GateChain.Step.BODY_CAP, context)));

  private final long maxBytes;
  private final StepRecord record;

  BodyCap(long maxBytes, StepRecord record) {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("body cap must not be negative");
    }
    this.maxBytes = maxBytes;
    this.record = record;
  }

  @Override
  public void handle(RoutingContext ctx) {
    long declared = GateBody.contentLength(ctx.request());
    String client = ClientAddress.printable(ClientAddress.inet(ctx.request()));
    if (declared > maxBytes) {
      record.refused("too_large", client, "Content-Length " + declared + " is over the " + maxBytes + "-byte cap");
      Refusal.send(ctx, 413, "Content Too Large: the body may be at most " + maxBytes + " bytes", 0);
      return;
    }
    if (declared < 0) {
      GateBody.limit(ctx, new GateBody.Limit(maxBytes, () -> record.refused("too_large", client,
          "body went over the " + maxBytes + "-byte cap while streaming")));
    }
    record.allowed();
    ctx.next();
  }
}
