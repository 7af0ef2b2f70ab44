package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A node asks, through the gateway that holds its session, to set ({@code present}) or remove the
 * ACME dns-01 value {@code value} at {@code _acme-challenge.<name>}
 * ({@link Addresses#REGISTRY_ACME_CHALLENGE}). The gateway fills {@code nodeId}, {@code gatewayId}
 * and {@code epoch} from its own authenticated session; the registry passes the value on to public
 * DNS ({@link DnsChallenge}) only when {@code name} is that live session's own name.
 */
public record AcmeChallengeRequest(String nodeId, String gatewayId, long epoch, String name, String value,
                                   boolean present) implements BusMessage {

  public static AcmeChallengeRequest fromJson(JsonObject json) {
    return new AcmeChallengeRequest(json.getString("nodeId"), json.getString("gatewayId"), json.getLong("epoch", 0L),
        json.getString("name"), json.getString("value"), json.getBoolean("present", false));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("gatewayId", gatewayId).put("epoch", epoch).put("name", name)
        .put("value", value).put("present", present);
  }
}
