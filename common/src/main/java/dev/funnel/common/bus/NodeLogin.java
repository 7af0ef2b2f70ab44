package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * A gateway asks the registry to admit a node that connected to it. {@code nodePublicKey} and
 * {@code proof} (base64) carry the node's identity: the key it generated, and its signature over
 * {@code challenge} (which the gateway chose); both may be null for an anonymous first login.
 * {@code aliases}: the custom domains the node asks for ({@code --domain-alias}); null from a node
 * (or gateway) that predates them, which leaves the node's aliases as they are.
 */
public record NodeLogin(String authKey, String hostname, List<Integer> ports, String gatewayId,
                        String nodePublicKey, String challenge, String proof, List<String> aliases)
    implements BusMessage {

  public NodeLogin {
    ports = List.copyOf(ports);
    aliases = aliases == null ? null : List.copyOf(aliases);
  }

  /** A login that says nothing about custom domains. */
  public NodeLogin(String authKey, String hostname, List<Integer> ports, String gatewayId,
                   String nodePublicKey, String challenge, String proof) {
    this(authKey, hostname, ports, gatewayId, nodePublicKey, challenge, proof, null);
  }

  public static NodeLogin fromJson(JsonObject json) {
    JsonArray aliases = json.getJsonArray("aliases");
    List<String> names = null;
    if (aliases != null) {
      names = new ArrayList<>();
      for (int i = 0; i < aliases.size(); i++) {
        if (aliases.getValue(i) instanceof String s) {
          names.add(s);
        }
      }
    }
    return new NodeLogin(json.getString("authKey"), json.getString("hostname"),
        Messages.intList(json.getJsonArray("ports")), json.getString("gatewayId"),
        json.getString("nodePublicKey"), json.getString("challenge"), json.getString("proof"), names);
  }

  @Override
  public JsonObject toJson() {
    JsonObject json = new JsonObject().put("authKey", authKey).put("hostname", hostname)
        .put("ports", new JsonArray(ports)).put("gatewayId", gatewayId)
        .put("nodePublicKey", nodePublicKey).put("challenge", challenge).put("proof", proof);
    return aliases == null ? json : json.put("aliases", new JsonArray(aliases));
  }

  /** Never print the auth key. */
  @Override
  public String toString() {
    return "NodeLogin[hostname=" + hostname + ", ports=" + ports + ", gatewayId=" + gatewayId
        + (aliases == null ? "" : ", aliases=" + aliases) + "]";
  }
}
