package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * A gateway asks the registry to admit a node that connected to it. {@code nodePublicKey} and
 * {@code proof} (base64) carry the node's identity: the key it generated, and its signature over
 * {@code challenge} (which the gateway chose); both may be null for an anonymous first login.
 */
public record NodeLogin(String authKey, String hostname, List<Integer> ports, String gatewayId,
                        String nodePublicKey, String challenge, String proof) implements BusMessage {

  public NodeLogin {
    ports = List.copyOf(ports);
  }

  public static NodeLogin fromJson(JsonObject json) {
    return new NodeLogin(json.getString("authKey"), json.getString("hostname"),
        Messages.intList(json.getJsonArray("ports")), json.getString("gatewayId"),
        json.getString("nodePublicKey"), json.getString("challenge"), json.getString("proof"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("authKey", authKey).put("hostname", hostname)
        .put("ports", new JsonArray(ports)).put("gatewayId", gatewayId)
        .put("nodePublicKey", nodePublicKey).put("challenge", challenge).put("proof", proof);
  }

  /** Never print the auth key. */
  @Override
  public String toString() {
    return "NodeLogin[hostname=" + hostname + ", ports=" + ports + ", gatewayId=" + gatewayId + "]";
  }
}
