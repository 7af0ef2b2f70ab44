package dev.funnel.terminator.gate;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import dev.funnel.common.gate.NetworkRule;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.net.InetAddress;
import java.util.Optional;

/** CIDR allow/deny lists on the public client's address ({@link ClientAddress}): {@code 403} when refused. */
public final class NetworkGate implements Handler<RoutingContext> {

  private final NetworkRule rule;
  private final GateDecisions decisions;

  public NetworkGate(NetworkRule rule, GateDecisions decisions) {
    this.rule = rule;
    this.decisions = decisions.register(Rule.CIDR, Outcome.DENIED);
  }

  @Override
  public void handle(RoutingContext ctx) {
    InetAddress client = ClientAddress.of(ctx.request());
    Optional<String> refusal = rule.refusal(client);
    if (refusal.isPresent()) {
      decisions.refused(Rule.CIDR, Outcome.DENIED, ClientAddress.printable(client), refusal.get());
      Refusal.send(ctx, 403, "Forbidden: this address may not use this site", 0);
      return;
    }
    decisions.allowed(Rule.CIDR);
    ctx.next();
  }
}
