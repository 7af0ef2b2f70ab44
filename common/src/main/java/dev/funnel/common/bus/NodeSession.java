package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The registry admitted a node: its id, public name, session epoch, the ports now routed to it
 * and how long the lease lasts unless renewed.
 */
public record NodeSession(String nodeId, String fqdn, String tailnet, long epoch, List<Integer> ports,
                          long leaseMillis) implements BusMessage {

  public NodeSession {
    ports = List.copyOf(ports);
  }

  public static NodeSession fromJson(JsonObject json) {
    return new NodeSession(json.getString("nodeId"), json.getString("fqdn"), json.getString("tailnet"),
        json.getLong("epoch"), Messages.intList(json.getJsonArray("ports")), json.getLong("leaseMillis"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("fqdn", fqdn).put("tailnet", tailnet)
        .put("epoch", epoch).put("ports", new JsonArray(ports)).put("leaseMillis", leaseMillis);
  }
}
