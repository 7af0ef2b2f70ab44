package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * A gateway asks a frontend ({@link Addresses#FRONTEND_PROBE}) to open a connection to
 * {@code fqdn:port} through its own public listener, with {@code fqdn} as SNI, as an outside client
 * would, and to report what came back ({@link ProbeResult}). {@code fqdn} is always the public name
 * of the node whose authenticated session asked (the gateway fills it in, never the node), so a
 * probe can only ever reach the asking node: no open proxy. {@code fingerprint} (SHA-256 of the
 * certificate the node expects, hex; may be null) is passed back for the node to compare.
 */
public record ProbeRequest(String fqdn, int port, String nodeId, String fingerprint) implements BusMessage {

  public static ProbeRequest fromJson(JsonObject json) {
    return new ProbeRequest(json.getString("fqdn"), json.getInteger("port", 0), json.getString("nodeId"),
        json.getString("fingerprint"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("fqdn", fqdn).put("port", port).put("nodeId", nodeId).put("fingerprint", fingerprint);
  }
}
