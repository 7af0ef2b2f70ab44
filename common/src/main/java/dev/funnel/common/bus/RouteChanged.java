package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/** Cached routes for {@code host} are stale; {@code host == null} means every cached route is. */
public record RouteChanged(String host) implements BusMessage {

  public static final RouteChanged ALL = new RouteChanged(null);

  public static RouteChanged fromJson(JsonObject json) {
    return new RouteChanged(json.getString("host"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("host", host);
  }
}
