package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A live route: {@code host:port} is served by {@code nodeId}, whose session {@code epoch} is held
 * by {@code gatewayId}. A newer epoch for the same node replaces an older one.
 */
public record Route(String host, int port, String nodeId, String gatewayId, long epoch) implements BusMessage {

  public static Route fromJson(JsonObject json) {
    return new Route(json.getString("host"), json.getInteger("port"), json.getString("nodeId"),
        json.getString("gatewayId"), json.getLong("epoch"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("host", host).put("port", port).put("nodeId", nodeId)
        .put("gatewayId", gatewayId).put("epoch", epoch);
  }
}
