package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/** Close any session of {@code nodeId} now (the node was removed or its key revoked). */
public record SessionKick(String nodeId, String reason) implements BusMessage {

  public static SessionKick fromJson(JsonObject json) {
    return new SessionKick(json.getString("nodeId"), json.getString("reason"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("reason", reason);
  }
}
