package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * Does {@code name} exist as a public name, and who serves it? Sent by public DNS to
 * {@link Addresses#REGISTRY_NAME}; {@code name} is lower case without a trailing dot. Answered with a
 * {@link NameStatus}.
 */
public record NameQuery(String name) implements BusMessage {

  public static NameQuery fromJson(JsonObject json) {
    return new NameQuery(json.getString("name"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("name", name);
  }
}
