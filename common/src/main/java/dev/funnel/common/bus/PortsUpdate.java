package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** The node now funnels exactly {@code ports} (it changed its serve config at run time). */
public record PortsUpdate(String nodeId, String gatewayId, long epoch, List<Integer> ports) implements BusMessage {

  public PortsUpdate {
    ports = List.copyOf(ports);
  }

  public static PortsUpdate fromJson(JsonObject json) {
    return new PortsUpdate(json.getString("nodeId"), json.getString("gatewayId"), json.getLong("epoch"),
        Messages.intList(json.getJsonArray("ports")));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("gatewayId", gatewayId).put("epoch", epoch)
        .put("ports", new JsonArray(ports));
  }
}
