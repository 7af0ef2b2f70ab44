package dev.funnel.terminator.gate;

import dev.funnel.terminator.auth.LoginGates;
import dev.funnel.terminator.auth.LoginSettings;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * The gate factories this build ships, by step. A step missing here cannot be asked for: a policy
 * naming it is refused ({@link GateChain#build}), never served without it. Register a factory with
 * one line per step.
 */
public final class Gates {

  private Gates() {
  }

  /** The shipped factories, the login gate without a provider ({@code --auth …=oidc} is refused, basic and bearer work). */
  public static Map<GateChain.Step, GateFactory> shipped() {
    return shipped(LoginSettings.none(Path.of(".")));
  }

  /** The shipped factories, the login gate with the node's login settings ({@code --oidc-*}, allow lists, state dir). */
  public static Map<GateChain.Step, GateFactory> shipped(LoginSettings login) {
    Map<GateChain.Step, GateFactory> out = new EnumMap<>(GateChain.Step.class);
    out.put(GateChain.Step.NETWORK, NetworkGate.FACTORY);
    out.put(GateChain.Step.RATE_LIMIT, RateGate.FACTORY);
    out.put(GateChain.Step.BODY_CAP, BodyCap.FACTORY);
    out.put(GateChain.Step.VERIFY, WebhookGate.FACTORY);
    out.put(GateChain.Step.CONCURRENCY, ConcurrencyCap.FACTORY);
    out.put(GateChain.Step.AUTH, new LoginGates(login));
    return out;
  }
}
