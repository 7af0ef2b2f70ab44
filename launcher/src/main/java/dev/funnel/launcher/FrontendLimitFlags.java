package dev.funnel.launcher;

import dev.funnel.common.options.FrontendOptions;
import picocli.CommandLine.Option;

/**
 * The frontend's resource limits (a picocli mixin of {@code funnel server} and {@code funnel
 * frontend}). Defaults are {@link FrontendOptions}' {@code DEFAULT_*}; every limit has a metric and
 * a logged refusal (sni-frontend/README.md). The clustered frontend reads the same settings through
 * {@link ServiceConfig}, so they may also come from its config file or environment.
 */
final class FrontendLimitFlags {

  static final String MAX_CONNECTIONS = "max-connections";
  static final String MAX_CONNECTIONS_PER_SOURCE = "max-connections-per-source";
  static final String SOURCE_RATE = "source-rate";
  static final String SOURCE_BURST = "source-burst";
  static final String IDLE_TIMEOUT = "idle-timeout-s";
  static final String TAILNET_BANDWIDTH = "tailnet-bandwidth";
  static final String DRAIN_TIMEOUT = "drain-timeout-s";

  @Option(names = "--" + MAX_CONNECTIONS, paramLabel = "N",
      defaultValue = "" + FrontendOptions.DEFAULT_MAX_CONNECTIONS,
      description = "Public connections the frontend holds open at once; more are closed at accept (default: ${DEFAULT-VALUE}).")
  int maxConnections = FrontendOptions.DEFAULT_MAX_CONNECTIONS;

  @Option(names = "--" + MAX_CONNECTIONS_PER_SOURCE, paramLabel = "N",
      defaultValue = "" + FrontendOptions.DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
      description = "Open public connections per source (IPv4 address or IPv6 /64) (default: ${DEFAULT-VALUE}).")
  int maxConnectionsPerSource = FrontendOptions.DEFAULT_MAX_CONNECTIONS_PER_SOURCE;

  @Option(names = "--" + SOURCE_RATE, paramLabel = "PER_SECOND",
      defaultValue = "" + FrontendOptions.DEFAULT_SOURCE_RATE_PER_SECOND,
      description = "New public connections per second per source, sustained (default: ${DEFAULT-VALUE}).")
  double sourceRate = FrontendOptions.DEFAULT_SOURCE_RATE_PER_SECOND;

  @Option(names = "--" + SOURCE_BURST, paramLabel = "N", defaultValue = "" + FrontendOptions.DEFAULT_SOURCE_BURST,
      description = "New public connections per source allowed in a burst (default: ${DEFAULT-VALUE}).")
  int sourceBurst = FrontendOptions.DEFAULT_SOURCE_BURST;

  @Option(names = "--" + IDLE_TIMEOUT, paramLabel = "SECONDS",
      defaultValue = "" + FrontendOptions.DEFAULT_IDLE_TIMEOUT_SECONDS,
      description = "A public connection (and so its tunnel) silent both ways this long is closed (default: ${DEFAULT-VALUE}).")
  long idleTimeoutSeconds = FrontendOptions.DEFAULT_IDLE_TIMEOUT_SECONDS;

  @Option(names = "--" + TAILNET_BANDWIDTH, paramLabel = "BYTES_PER_SECOND",
      defaultValue = "" + FrontendOptions.DEFAULT_TAILNET_BYTES_PER_SECOND,
      description = "Bytes per second each way all tunnels of one tailnet may carry, shaped not dropped; 0 = unlimited (default: ${DEFAULT-VALUE}).")
  long tailnetBytesPerSecond = FrontendOptions.DEFAULT_TAILNET_BYTES_PER_SECOND;

  @Option(names = "--" + DRAIN_TIMEOUT, paramLabel = "SECONDS",
      defaultValue = "" + FrontendOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS,
      description = "On SIGTERM or Ctrl-C, stop accepting and give open public connections this long to end before"
          + " closing them (funnel server: its gateway's tunnels end with them, so the stop takes this long);"
          + " a second signal stops at once; 0 = close them at once (default: ${DEFAULT-VALUE}).")
  long drainTimeoutSeconds = FrontendOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS;

  /** The limits given as flags, set on {@code options}; returns it. */
  FrontendOptions applyTo(FrontendOptions options) {
    return apply(options, maxConnections, maxConnectionsPerSource, sourceRate, sourceBurst, idleTimeoutSeconds,
        tailnetBytesPerSecond, drainTimeoutSeconds);
  }

  /** The limits in {@code config} (file, environment, flags), defaults where absent, set on {@code options}. */
  static FrontendOptions applyTo(FrontendOptions options, ServiceConfig config) {
    return apply(options,
        config.integer(MAX_CONNECTIONS, FrontendOptions.DEFAULT_MAX_CONNECTIONS),
        config.integer(MAX_CONNECTIONS_PER_SOURCE, FrontendOptions.DEFAULT_MAX_CONNECTIONS_PER_SOURCE),
        config.decimal(SOURCE_RATE, FrontendOptions.DEFAULT_SOURCE_RATE_PER_SECOND),
        config.integer(SOURCE_BURST, FrontendOptions.DEFAULT_SOURCE_BURST),
        config.number(IDLE_TIMEOUT, FrontendOptions.DEFAULT_IDLE_TIMEOUT_SECONDS),
        config.number(TAILNET_BANDWIDTH, FrontendOptions.DEFAULT_TAILNET_BYTES_PER_SECOND),
        config.number(DRAIN_TIMEOUT, FrontendOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS));
  }

  /**
   * {@code seconds} if it is a drain time (0 or more), for every command with {@code --drain-timeout-s}
   * (server, frontend, gateway, node, demo).
   */
  static long drainTimeout(long seconds) {
    require(seconds >= 0, DRAIN_TIMEOUT, seconds, "0 (at once) or more");
    return seconds;
  }

  private static void require(boolean ok, String flag, Object value, String must) {
    if (!ok) {
      throw new IllegalArgumentException("--" + flag + " " + value + ": must be " + must);
    }
  }

  private static FrontendOptions apply(FrontendOptions options, int maxConnections, int maxConnectionsPerSource,
                                       double sourceRate, int sourceBurst, long idleTimeoutSeconds,
                                       long tailnetBytesPerSecond, long drainTimeoutSeconds) {
    require(maxConnections >= 1, MAX_CONNECTIONS, maxConnections, "at least 1");
    require(maxConnectionsPerSource >= 1, MAX_CONNECTIONS_PER_SOURCE, maxConnectionsPerSource, "at least 1");
    require(sourceRate > 0, SOURCE_RATE, sourceRate, "more than 0");
    require(sourceBurst >= 1, SOURCE_BURST, sourceBurst, "at least 1");
    require(idleTimeoutSeconds >= 1, IDLE_TIMEOUT, idleTimeoutSeconds, "at least 1");
    require(tailnetBytesPerSecond >= 0, TAILNET_BANDWIDTH, tailnetBytesPerSecond, "0 (unlimited) or more");
    drainTimeout(drainTimeoutSeconds);
    return options
        .setMaxConnections(maxConnections)
        .setMaxConnectionsPerSource(maxConnectionsPerSource)
        .setSourceRatePerSecond(sourceRate)
        .setSourceBurst(sourceBurst)
        .setIdleTimeoutSeconds(idleTimeoutSeconds)
        .setTailnetBytesPerSecond(tailnetBytesPerSecond)
        .setDrainTimeoutSeconds(drainTimeoutSeconds);
  }
}
