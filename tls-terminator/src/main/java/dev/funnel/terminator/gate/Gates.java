package dev.funnel.terminator.gate;

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

  public static Map<GateChain.Step, GateFactory> shipped() {
    Map<GateChain.Step, GateFactory> out = new EnumMap<>(GateChain.Step.class);
    return out;
  }
}
