package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/** Which node serves {@code host:port}? {@code host} is already normalised. */
public record ResolveRequest(String host, int port) implements BusMessage {

  public static ResolveRequest fromJson(JsonObject json) {
    return new ResolveRequest(json.getString("host"), json.getInteger("port"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("host", host).put("port", port);
  }
}
