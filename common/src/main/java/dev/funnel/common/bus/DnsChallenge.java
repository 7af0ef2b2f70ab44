package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * Sets ({@code present} true) or clears one ACME dns-01 value: public DNS answers {@code TXT value}
 * at {@code _acme-challenge.<name>} while it is set ({@link Addresses#DNS_CHALLENGE}). {@code name}
 * is the node's public name, lower case, no trailing dot. The registry publishes it for a node's
 * dns-01 order ({@link AcmeChallengeRequest}), after checking the name is the node's own.
 */
public record DnsChallenge(String name, String value, boolean present) implements BusMessage {

  public static DnsChallenge fromJson(JsonObject json) {
    return new DnsChallenge(json.getString("name"), json.getString("value"), json.getBoolean("present", false));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("value", value).put("present", present);
  }
}
