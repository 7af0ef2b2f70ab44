package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/** A record that travels on the event bus; its JSON form is what crosses the cluster. */
public interface BusMessage {
  JsonObject toJson();
}
