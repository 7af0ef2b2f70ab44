package dev.funnel.terminator.gate;

import dev.funnel.common.serve.GatePolicy;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;

/**
 * {@link GateChain.Step#VERIFY}: {@code --verify}. Checks a webhook delivery's signature before the
 * target sees anything: reads the body once and bounded ({@link GateBody#read}, which leaves it
 * under {@link GateChain#BUFFERED_BODY} for the target to send intact), checks it
 * ({@link WebhookSignature}), and either answers {@code 401} ({@code 413} for a body over the
 * bound) or passes the request on. Outcomes: {@code allowed}, {@code missing_signature},
 * {@code malformed_signature}, {@code bad_signature}, {@code stale_timestamp}, {@code too_large}.
 */
public final class WebhookGate implements Handler<RoutingContext> {

  /** Bound on a webhook body when the route sets no smaller {@code --max-body}. GitHub caps its payloads at 25 MB. */
  public static final long DEFAULT_MAX_BODY_BYTES = 25L * 1024 * 1024;

  /**
   * Makes the handler: reads the secret file (asynchronously; a missing, unreadable or empty file
   * fails the route's setup, naming the file, so a change is refused rather than served unchecked).
   */
  public static final GateFactory FACTORY = (policy, context) -> {
    GatePolicy.Verify verify = policy.verify();
    return context.vertx().fileSystem().readFile(verify.secretFile().toString())
        .recover(err -> Future.failedFuture(new IllegalArgumentException("--verify " + verify.scheme().spelling
            + ": cannot read the secret file " + verify.secretFile() + ": " + err.getMessage())))
        .map(secret -> new WebhookGate(WebhookSignature.of(verify, secret.getBytes()), bound(policy),
            StepRecord.of(GateChain.Step.VERIFY, context), Clock.systemUTC()));
  };

  private final WebhookSignature signature;
  private final long maxBodyBytes;
  private final StepRecord record;
  private final Clock clock;

  WebhookGate(WebhookSignature signature, long maxBodyBytes, StepRecord record, Clock clock) {
    this.signature = signature;
    this.maxBodyBytes = maxBodyBytes;
    this.record = record;
    this.clock = clock;
  }

  /**
   * Reads a {@code --verify} rule's secret file as the gate will, so that a command can refuse an
   * unreadable or empty one before it starts anything. Throws IllegalArgumentException naming the
   * file. Blocking.
   */
  public static void checkSecret(GatePolicy.Verify verify) {
    try {
      WebhookSignature.of(verify, java.nio.file.Files.readAllBytes(verify.secretFile()));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("--verify " + verify.scheme().spelling + ": cannot read the secret file "
          + verify.secretFile() + ": " + e.getMessage());
    }
  }

  /** The body bound: the route's {@code --max-body} when smaller than {@link #DEFAULT_MAX_BODY_BYTES}. */
  static long bound(GatePolicy policy) {
    return policy.maxBodyBytes() > 0 ? Math.min(policy.maxBodyBytes(), DEFAULT_MAX_BODY_BYTES) : DEFAULT_MAX_BODY_BYTES;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String client = ClientAddress.printable(ClientAddress.inet(ctx.request()));
    GateBody.read(ctx, maxBodyBytes).onComplete(read -> {
      if (read.failed()) {
        if (read.cause() instanceof GateBody.TooLarge tooLarge) {
          record.refused("too_large", client, signature.kind() + " delivery: " + tooLarge.getMessage());
          Refusal.send(ctx, 413, "Content Too Large: the body may be at most " + maxBodyBytes + " bytes", 0);
        } else if (!ctx.response().ended()) {
          ctx.fail(read.cause());
        }
        return;
      }
      WebhookSignature.Check check = signature.check(ctx.request().headers(), read.result().getBytes(),
          clock.instant().getEpochSecond());
      if (!check.passed()) {
        record.refused(check.outcome(), client, signature.kind() + " delivery: " + check.reason());
        Refusal.send(ctx, 401, "Unauthorized: webhook signature not valid", 0);
        return;
      }
      record.allowed();
      ctx.next();
    });
  }
}
