package dev.funnel.common.net;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The gateways running in this JVM, by id: {@code funnel server} makes one and gives it to its
 * gateway (which registers itself) and its frontend (which opens streams through it without a
 * socket). Frontends reach every other gateway over the network. An instance, not a static map:
 * two servers in one JVM (tests) do not see each other's gateways.
 */
public final class GatewayLinks {

  private final ConcurrentMap<String, GatewayLink> local = new ConcurrentHashMap<>();

  public void register(String gatewayId, GatewayLink link) {
    local.put(gatewayId, link);
  }

  public void unregister(String gatewayId, GatewayLink link) {
    local.remove(gatewayId, link);
  }

  /** The gateway {@code gatewayId} if it runs in this JVM; empty otherwise. */
  public Optional<GatewayLink> local(String gatewayId) {
    return Optional.ofNullable(local.get(gatewayId));
  }
}
