package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Every custom domain of node {@code nodeId} with its state ({@link Addresses#ALIAS_STATUS},
 * {@link Addresses#REGISTRY_NODE_ALIASES}): the gateway holding the node's session passes it on.
 */
public record AliasStatus(String nodeId, List<AliasInfo> aliases) implements BusMessage {

  public AliasStatus {
    aliases = List.copyOf(aliases);
  }

  public static AliasStatus fromJson(JsonObject json) {
    return new AliasStatus(json.getString("nodeId"), listFromJson(json.getJsonArray("aliases")));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("aliases", listToJson(aliases));
  }

  public static JsonArray listToJson(List<AliasInfo> aliases) {
    JsonArray array = new JsonArray();
    aliases.forEach(a -> array.add(a.toJson()));
    return array;
  }

  public static List<AliasInfo> listFromJson(JsonArray array) {
    List<AliasInfo> out = new ArrayList<>();
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        out.add(AliasInfo.fromJson(array.getJsonObject(i)));
      }
    }
    return out;
  }
}
