package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/** The gateway still holds this node's session epoch. */
public record LeaseRenewal(String nodeId, String gatewayId, long epoch) implements BusMessage {

  public static LeaseRenewal fromJson(JsonObject json) {
    return new LeaseRenewal(json.getString("nodeId"), json.getString("gatewayId"), json.getLong("epoch"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("gatewayId", gatewayId).put("epoch", epoch);
  }

  /** The registry extended the lease until {@code expiresAtMillis} (registry clock). */
  public record Ack(long expiresAtMillis) implements BusMessage {
    public static Ack fromJson(JsonObject json) {
      return new Ack(json.getLong("expiresAtMillis"));
    }

    @Override
    public JsonObject toJson() {
      return new JsonObject().put("expiresAtMillis", expiresAtMillis);
    }
  }
}
