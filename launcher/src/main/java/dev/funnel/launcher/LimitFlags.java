package dev.funnel.launcher;

import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.options.GatewayOptions;
import picocli.CommandLine.Mixin;

/**
 * The resource limits an operator may tune on {@code funnel server} (frontend and gateway in one
 * JVM): the clustered {@code funnel frontend} and {@code funnel gateway} take their own half.
 */
final class LimitFlags {

  @Mixin
  FrontendLimitFlags frontend = new FrontendLimitFlags();

  @Mixin
  GatewayLimitFlags gateway = new GatewayLimitFlags();

  /** Not a limit, but the registry's half of {@code funnel server}'s tunables: custom-domain checks. */
  @Mixin
  AliasFlags aliases = new AliasFlags();

  /** The frontend's limits set on {@code options}; returns it. */
  FrontendOptions applyTo(FrontendOptions options) {
    return frontend.applyTo(options);
  }

  /** The gateway's limits set on {@code options}; returns it. */
  GatewayOptions applyTo(GatewayOptions options) {
    return gateway.applyTo(options);
  }
}
