package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * Every public name routable right now ({@link Addresses#REGISTRY_ROUTABLE}), each a
 * {@link NameStatus} of kind {@link NameStatus.Kind#ROUTABLE} with the gateway that serves it, sorted
 * by name. Asked by the RFC 2136 pusher of public DNS, which sends these names to the operator's
 * primary server.
 */
public record RoutableNames(List<NameStatus> names) implements BusMessage {

  public RoutableNames {
    names = List.copyOf(names);
  }

  public static RoutableNames fromJson(JsonObject json) {
    List<NameStatus> names = new ArrayList<>();
    JsonArray array = json.getJsonArray("names");
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        names.add(NameStatus.fromJson(array.getJsonObject(i)));
      }
    }
    return new RoutableNames(names);
  }

  @Override
  public JsonObject toJson() {
    JsonArray array = new JsonArray();
    names.forEach(n -> array.add(n.toJson()));
    return new JsonObject().put("names", array);
  }
}
