package dev.funnel.launcher;

import dev.funnel.common.options.GatewayOptions;
import picocli.CommandLine.Option;

/**
 * The gateway's resource limits (a picocli mixin of {@code funnel server} and {@code funnel
 * gateway}); the clustered gateway reads the same setting through {@link ServiceConfig}.
 */
final class GatewayLimitFlags {

  static final String MAX_TUNNELS_PER_NODE = "max-tunnels-per-node";

  @Option(names = "--" + MAX_TUNNELS_PER_NODE, paramLabel = "N", defaultValue = "" + GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE,
      description = "Concurrent tunnels one node may carry through a gateway (default: ${DEFAULT-VALUE}).")
  int maxTunnelsPerNode = GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE;

  /** The limit given as a flag, set on {@code options}; returns it. */
  GatewayOptions applyTo(GatewayOptions options) {
    return apply(options, maxTunnelsPerNode);
  }

  /** The limit in {@code config} (file, environment, flags), the default when absent, set on {@code options}. */
  static GatewayOptions applyTo(GatewayOptions options, ServiceConfig config) {
    return apply(options, config.integer(MAX_TUNNELS_PER_NODE, GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE));
  }

  private static GatewayOptions apply(GatewayOptions options, int maxTunnelsPerNode) {
    if (maxTunnelsPerNode < 1) {
      throw new IllegalArgumentException("--max-tunnels-per-node must be at least 1");
    }
    return options.setMaxTunnelsPerNode(maxTunnelsPerNode);
  }
}
