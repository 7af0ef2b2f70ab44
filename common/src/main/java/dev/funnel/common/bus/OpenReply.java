package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * The node accepted the offer. In one JVM ({@code relayHost == null}) the stream waits in
 * {@link dev.funnel.common.net.LocalStreams} under {@code ticket}; across processes the frontend
 * dials {@code relayHost:relayPort} and presents {@code ticket}.
 */
public record OpenReply(String ticket, String relayHost, int relayPort) implements BusMessage {

  public static OpenReply local(String ticket) {
    return new OpenReply(ticket, null, 0);
  }

  public boolean isLocal() {
    return relayHost == null;
  }

  public static OpenReply fromJson(JsonObject json) {
    return new OpenReply(json.getString("ticket"), json.getString("relayHost"), json.getInteger("relayPort", 0));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("ticket", ticket).put("relayHost", relayHost).put("relayPort", relayPort);
  }

  @Override
  public String toString() {
    return "OpenReply[relay=" + (isLocal() ? "local" : relayHost + ":" + relayPort) + "]";
  }
}
