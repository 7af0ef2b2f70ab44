package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every custom domain routed now, alias → the node's public name ({@link Addresses#REGISTRY_ALIASES},
 * published on {@link Addresses#ALIASES_CHANGED}). Frontends route an SNI outside the base domain
 * only when it is a key here; everything else they refuse locally, with no registry round trip.
 */
public record VerifiedAliases(Map<String, String> targets) implements BusMessage {

  public static final VerifiedAliases NONE = new VerifiedAliases(Map.of());

  public VerifiedAliases {
    targets = Map.copyOf(targets);
  }

  public static VerifiedAliases fromJson(JsonObject json) {
    Map<String, String> out = new TreeMap<>();
    JsonObject map = json.getJsonObject("targets", new JsonObject());
    map.forEach(e -> {
      if (e.getValue() instanceof String target) {
        out.put(e.getKey(), target);
      }
    });
    return new VerifiedAliases(out);
  }

  @Override
  public JsonObject toJson() {
    JsonObject map = new JsonObject();
    new TreeMap<>(targets).forEach(map::put);
    return new JsonObject().put("targets", map);
  }
}
