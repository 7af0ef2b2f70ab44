package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A frontend asks the gateway holding {@code nodeId}'s session for a stream to
 * {@code targetHost:targetPort} on behalf of the public client at {@code clientAddress} (ip:port).
 */
public record OpenRequest(String nodeId, long epoch, String targetHost, int targetPort, String clientAddress,
                          String frontendId) implements BusMessage {

  public static OpenRequest fromJson(JsonObject json) {
    return new OpenRequest(json.getString("nodeId"), json.getLong("epoch"), json.getString("targetHost"),
        json.getInteger("targetPort"), json.getString("clientAddress"), json.getString("frontendId"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("epoch", epoch).put("targetHost", targetHost)
        .put("targetPort", targetPort).put("clientAddress", clientAddress).put("frontendId", frontendId);
  }
}
