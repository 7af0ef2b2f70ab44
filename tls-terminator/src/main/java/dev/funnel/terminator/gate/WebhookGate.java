package dev.funnel.terminator.gate;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;

/**
 * Checks a webhook delivery's signature before the backend sees anything: reads the body once and
 * bounded ({@link GateBody#read}), checks it ({@link WebhookSignature}), and either answers
 * {@code 401} (or {@code 413} for a body over the bound) or passes the request on with the body
 * as read, for the target to send intact.
 */
public final class WebhookGate implements Handler<RoutingContext> {

  /** Bound on a webhook body when the route sets no smaller cap. GitHub caps its payloads at 25 MB. */
  public static final long DEFAULT_MAX_BODY_BYTES = 25L * 1024 * 1024;

  private final WebhookSignature signature;
  private final long maxBodyBytes;
  private final GateDecisions decisions;
  private final Clock clock;

  public WebhookGate(WebhookSignature signature, long maxBodyBytes, GateDecisions decisions, Clock clock) {
    this.signature = signature;
    this.maxBodyBytes = maxBodyBytes;
    this.decisions = decisions.register(Rule.WEBHOOK, Outcome.MISSING_SIGNATURE, Outcome.MALFORMED_SIGNATURE,
        Outcome.BAD_SIGNATURE, Outcome.STALE_TIMESTAMP, Outcome.TOO_LARGE);
    this.clock = clock;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String client = ClientAddress.printable(ClientAddress.of(ctx.request()));
    GateBody.read(ctx, maxBodyBytes).onComplete(read -> {
      if (read.failed()) {
        if (read.cause() instanceof GateBody.TooLarge tooLarge) {
          decisions.refused(Rule.WEBHOOK, Outcome.TOO_LARGE, client, signature.kind() + " delivery: "
              + tooLarge.getMessage());
          Refusal.send(ctx, 413, "Content Too Large: the body may be at most " + maxBodyBytes + " bytes", 0);
        } else if (!ctx.response().ended()) {
          ctx.fail(read.cause());
        }
        return;
      }
      WebhookSignature.Check check = signature.check(ctx.request().headers(), read.result().getBytes(),
          clock.instant().getEpochSecond());
      if (!check.passed()) {
        decisions.refused(Rule.WEBHOOK, check.outcome(), client, signature.kind() + " delivery: " + check.reason());
        Refusal.send(ctx, 401, "Unauthorized: webhook signature not valid", 0);
        return;
      }
      decisions.allowed(Rule.WEBHOOK);
      ctx.next();
    });
  }

  public WebhookSignature signature() {
    return signature;
  }
}
