package dev.funnel.gateway;

import dev.funnel.common.options.GatewayOptions;

/** The gateway's options checked before it starts: a pure function, one message per problem. */
final class GatewayOptionsCheck {

  private GatewayOptionsCheck() {
  }

  /** What is wrong with {@code options}, or null: every wait must be positive (timers need at least 1 ms). */
  static String problem(GatewayOptions options) {
    if (options.getKeyCert() == null) {
      return "the gateway needs a TLS certificate and key";
    }
    if (options.getLinkListen() != null && options.getLinkTrust() == null) {
      return "a link for frontends needs the cluster CA to check their certificates";
    }
    if (options.getDrainTimeoutSeconds() < 0) {
      return "the drain time must be 0 or more";
    }
    if (options.getLinksPerNode() < 1 || options.getMaxLinksPerNode() < 1 || options.getMaxTunnelsPerNode() < 1) {
      return "links per node and the per-node limits must be >= 1";
    }
    long[] waits = {options.getOfferTimeoutMillis(), options.getHeartbeatMillis(), options.getPingIntervalMillis(),
        options.getSessionTimeoutMillis(), options.getLoginTimeoutMillis(), options.getDeadAfterMillis(),
        options.getRegistryTimeoutMillis()};
    for (long wait : waits) {
      if (wait < 1) {
        return "every wait and timeout must be at least 1 ms";
      }
    }
    return null;
  }
}
