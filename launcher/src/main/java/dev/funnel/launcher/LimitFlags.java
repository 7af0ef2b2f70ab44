package dev.funnel.launcher;

import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.options.GatewayOptions;
import picocli.CommandLine.Option;

/**
 * The resource limits an operator may tune on the server side (a picocli mixin). Defaults are the
 * options classes' {@code DEFAULT_*}; every limit has a metric and a logged refusal (see the
 * frontend's and gateway's READMEs).
 */
final class LimitFlags {

  @Option(names = "--max-connections", paramLabel = "N",
      defaultValue = "" + FrontendOptions.DEFAULT_MAX_CONNECTIONS,
      description = "Public connections the frontend holds open at once; more are closed at accept (default: ${DEFAULT-VALUE}).")
  int maxConnections = FrontendOptions.DEFAULT_MAX_CONNECTIONS;

  @Option(names = "--max-connections-per-source", paramLabel = "N",
      defaultValue = "" + FrontendOptions.DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
      description = "Open public connections per source (IPv4 address or IPv6 /64) (default: ${DEFAULT-VALUE}).")
  int maxConnectionsPerSource = FrontendOptions.DEFAULT_MAX_CONNECTIONS_PER_SOURCE;

  @Option(names = "--source-rate", paramLabel = "PER_SECOND",
      defaultValue = "" + FrontendOptions.DEFAULT_SOURCE_RATE_PER_SECOND,
      description = "New public connections per second per source, sustained (default: ${DEFAULT-VALUE}).")
  double sourceRate = FrontendOptions.DEFAULT_SOURCE_RATE_PER_SECOND;

  @Option(names = "--source-burst", paramLabel = "N", defaultValue = "" + FrontendOptions.DEFAULT_SOURCE_BURST,
      description = "New public connections per source allowed in a burst (default: ${DEFAULT-VALUE}).")
  int sourceBurst = FrontendOptions.DEFAULT_SOURCE_BURST;

  @Option(names = "--idle-timeout-s", paramLabel = "SECONDS",
      defaultValue = "" + FrontendOptions.DEFAULT_IDLE_TIMEOUT_SECONDS,
      description = "A public connection (and so its tunnel) silent both ways this long is closed (default: ${DEFAULT-VALUE}).")
  long idleTimeoutSeconds = FrontendOptions.DEFAULT_IDLE_TIMEOUT_SECONDS;

  @Option(names = "--tailnet-bandwidth", paramLabel = "BYTES_PER_SECOND",
      defaultValue = "" + FrontendOptions.DEFAULT_TAILNET_BYTES_PER_SECOND,
      description = "Bytes per second each way all tunnels of one tailnet may carry, shaped not dropped; 0 = unlimited (default: ${DEFAULT-VALUE}).")
  long tailnetBytesPerSecond = FrontendOptions.DEFAULT_TAILNET_BYTES_PER_SECOND;

  @Option(names = "--max-tunnels-per-node", paramLabel = "N", defaultValue = "" + GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE,
      description = "Concurrent tunnels one node may carry through a gateway (default: ${DEFAULT-VALUE}).")
  int maxTunnelsPerNode = GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE;

  /** The frontend's limits set on {@code options}; returns it. */
  FrontendOptions applyTo(FrontendOptions options) {
    if (maxConnections < 1 || maxConnectionsPerSource < 1 || sourceRate <= 0 || sourceBurst < 1 || idleTimeoutSeconds < 1
        || tailnetBytesPerSecond < 0) {
      throw new IllegalArgumentException("--max-connections, --max-connections-per-source, --source-rate, --source-burst"
          + " and --idle-timeout-s must be positive; --tailnet-bandwidth 0 or more");
    }
    return options
        .setMaxConnections(maxConnections)
        .setMaxConnectionsPerSource(maxConnectionsPerSource)
        .setSourceRatePerSecond(sourceRate)
        .setSourceBurst(sourceBurst)
        .setIdleTimeoutSeconds(idleTimeoutSeconds)
        .setTailnetBytesPerSecond(tailnetBytesPerSecond);
  }

  /** The gateway's limits set on {@code options}; returns it. */
  GatewayOptions applyTo(GatewayOptions options) {
    if (maxTunnelsPerNode < 1) {
      throw new IllegalArgumentException("--max-tunnels-per-node must be at least 1");
    }
    return options.setMaxTunnelsPerNode(maxTunnelsPerNode);
  }
}
