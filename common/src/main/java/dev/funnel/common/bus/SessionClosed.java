package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/** The node's control channel to {@code gatewayId} ended: withdraw that epoch's routes now. */
public record SessionClosed(String nodeId, String gatewayId, long epoch) implements BusMessage {

  public static SessionClosed fromJson(JsonObject json) {
    return new SessionClosed(json.getString("nodeId"), json.getString("gatewayId"), json.getLong("epoch"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("gatewayId", gatewayId).put("epoch", epoch);
  }
}
