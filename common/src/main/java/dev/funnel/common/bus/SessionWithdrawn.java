package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A registry withdrew one node session ({@code nodeId} on {@code gatewayId}, epoch {@code epoch};
 * its public name {@code fqdn}): closed, reported lost by the node, lapsed, kicked, replaced, or its
 * gateway left the cluster. Frontends drop cached routes for {@code fqdn} and fail at once any open
 * waiting on that session (it will never answer); other registries stop resolving to it before the
 * shared session table tells them.
 */
public record SessionWithdrawn(String nodeId, String fqdn, String gatewayId, long epoch) implements BusMessage {

  public static SessionWithdrawn fromJson(JsonObject json) {
    return new SessionWithdrawn(json.getString("nodeId"), json.getString("fqdn"), json.getString("gatewayId"),
        json.getLong("epoch", 0L));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("fqdn", fqdn).put("gatewayId", gatewayId).put("epoch", epoch);
  }
}
