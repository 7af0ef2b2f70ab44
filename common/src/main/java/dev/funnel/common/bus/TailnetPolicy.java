package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * A tailnet's Funnel policy as an admin just set it: whether Funnel is on and which public ports it
 * allows. Published on {@link Addresses#TAILNET_CHANGED}; each gateway tells the nodes of that
 * tailnet it holds which of their ports are now refused ({@link PortRefusals#withPolicy}).
 */
public record TailnetPolicy(String tailnet, boolean funnel, List<Integer> ports) implements BusMessage {

  public TailnetPolicy {
    ports = ports == null ? List.of() : List.copyOf(ports);
  }

  public static TailnetPolicy fromJson(JsonObject json) {
    return new TailnetPolicy(json.getString("tailnet"), json.getBoolean("funnel", false),
        Messages.intList(json.getJsonArray("ports")));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("tailnet", tailnet).put("funnel", funnel).put("ports", new JsonArray(ports));
  }
}
