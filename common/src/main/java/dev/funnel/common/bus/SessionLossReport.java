package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A node says its session with {@code lostGatewayId} (epoch {@code lostEpoch}) ended without that
 * gateway closing it, and says so through its live session on {@code viaGatewayId} (epoch
 * {@code viaEpoch}). The reporting gateway fills {@code nodeId} from its own authenticated
 * session: it vouches for who is speaking, so a node can only report its own sessions.
 * {@code reason} is the node's words, for the log.
 */
public record SessionLossReport(String nodeId, String lostGatewayId, long lostEpoch, String viaGatewayId,
                                long viaEpoch, String reason) implements BusMessage {

  public static SessionLossReport fromJson(JsonObject json) {
    return new SessionLossReport(json.getString("nodeId"), json.getString("lostGatewayId"),
        json.getLong("lostEpoch", 0L), json.getString("viaGatewayId"), json.getLong("viaEpoch", 0L),
        json.getString("reason", ""));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("lostGatewayId", lostGatewayId).put("lostEpoch", lostEpoch)
        .put("viaGatewayId", viaGatewayId).put("viaEpoch", viaEpoch).put("reason", reason);
  }
}
