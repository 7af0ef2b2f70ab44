package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A node's certificate expires at {@code notAfter} (epoch seconds), as the node told the gateway of
 * its session (the gateway names the node from the session, never from the message). Published on
 * {@link Addresses#NODE_CERT}.
 */
public record NodeCertReport(String nodeId, long notAfter) implements BusMessage {

  public static NodeCertReport fromJson(JsonObject json) {
    return new NodeCertReport(json.getString("nodeId"), json.getLong("notAfter", 0L));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("nodeId", nodeId).put("notAfter", notAfter);
  }
}
