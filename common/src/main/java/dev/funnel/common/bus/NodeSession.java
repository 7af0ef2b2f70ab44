package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;

/**
 * The registry admitted a node: its id, public name, session epoch, the ports now routed to it
 * and how long the lease lasts unless renewed. {@code refused}: the ports it announced that the
 * public side will not route, with the reason ({@link PortRefusals}); empty when all are routed.
 */
public record NodeSession(String nodeId, String fqdn, String tailnet, long epoch, List<Integer> ports,
                          long leaseMillis, Map<Integer, String> refused) implements BusMessage {

  public NodeSession {
    ports = List.copyOf(ports);
    refused = refused == null ? Map.of() : Map.copyOf(refused);
  }

  public NodeSession(String nodeId, String fqdn, String tailnet, long epoch, List<Integer> ports, long leaseMillis) {
    this(nodeId, fqdn, tailnet, epoch, ports, leaseMillis, Map.of());
  }

  public static NodeSession fromJson(JsonObject json) {
    return new NodeSession(json.getString("nodeId"), json.getString("fqdn"), json.getString("tailnet"),
        json.getLong("epoch"), Messages.intList(json.getJsonArray("ports")), json.getLong("leaseMillis"),
        PortRefusals.fromJson(json.getJsonObject("refused")));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("fqdn", fqdn).put("tailnet", tailnet)
        .put("epoch", epoch).put("ports", new JsonArray(ports)).put("leaseMillis", leaseMillis)
        .put("refused", PortRefusals.toJson(refused));
  }
}
