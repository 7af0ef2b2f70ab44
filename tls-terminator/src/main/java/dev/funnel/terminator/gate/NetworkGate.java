package dev.funnel.terminator.gate;

import dev.funnel.common.serve.NetworkRule;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;
import java.util.Optional;

/**
 * {@link GateChain.Step#NETWORK}: {@code --allow-cidr}/{@code --deny-cidr} on the public client's
 * address ({@link ClientAddress}: the PROXY header's source, never a request header); {@code 403}
 * when refused. Outcomes: {@code allowed}, {@code denied}.
 */
public final class NetworkGate implements Handler<RoutingContext> {

  /** Makes the handler from the policy's lists. */
  public static final GateFactory FACTORY = (policy, context) -> Future.succeededFuture(
      new NetworkGate(NetworkRule.of(policy), StepRecord.of(GateChain.Step.NETWORK, context)));

  private final NetworkRule rule;
  private final StepRecord record;

  NetworkGate(NetworkRule rule, StepRecord record) {
    this.rule = rule;
    this.record = record;
  }

  @Override
  public void handle(RoutingContext ctx) {
    InetAddress client = ClientAddress.inet(ctx.request());
    Optional<String> refusal = rule.refusal(client);
    if (refusal.isPresent()) {
      record.refused("denied", ClientAddress.printable(client), refusal.get());
      Refusal.send(ctx, 403, "Forbidden: this address may not use this site", 0);
      return;
    }
    record.allowed();
    ctx.next();
  }
}
