package dev.funnel.common.bus;

import io.vertx.core.json.JsonObject;

/**
 * What a registry knows about one public name ({@link Addresses#REGISTRY_NAME}):
 * <ul>
 *   <li>{@link Kind#ROUTABLE}: {@code NODE.TAILNET.DOMAIN} of a tailnet with Funnel on, whose node is
 *   online with at least one funnelled port the tailnet allows; {@code gatewayId} holds the session
 *   that serves it (the newest such);</li>
 *   <li>{@link Kind#TAILNET}: {@code TAILNET.DOMAIN} of a tailnet with Funnel on (a name that exists
 *   in DNS with nothing of its own, so resolvers that minimise their queries go on to its nodes);</li>
 *   <li>{@link Kind#NONE}: anything else (no such tailnet or node, Funnel off, node offline).</li>
 * </ul>
 * {@code gatewayId} is null unless routable.
 */
public record NameStatus(String name, Kind kind, String gatewayId) implements BusMessage {

  public enum Kind {
    ROUTABLE, TAILNET, NONE
  }

  public static NameStatus none(String name) {
    return new NameStatus(name, Kind.NONE, null);
  }

  public static NameStatus fromJson(JsonObject json) {
    Kind kind;
    try {
      kind = Kind.valueOf(json.getString("kind", "NONE"));
    } catch (IllegalArgumentException e) {
      kind = Kind.NONE;
    }
    return new NameStatus(json.getString("name"), kind, json.getString("gatewayId"));
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("kind", kind.name()).put("gatewayId", gatewayId);
  }
}
