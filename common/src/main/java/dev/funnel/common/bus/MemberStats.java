package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.TreeMap;

/**
 * A service's figures, published every {@link #PERIOD_MILLIS} on {@link Addresses#MEMBER_STATS} (a
 * few hundred bytes per process and period, so bounded whatever the traffic); registries keep the
 * latest of each member for {@code funnel admin status}. Counters are cumulative since the process
 * started; the reader takes differences over time.
 *
 * @param memberId     the service's id (frontend id, gateway id, registry id)
 * @param role         frontend, gateway, registry or dns
 * @param ready        its listeners are bound and it serves
 * @param publicPorts  frontends: the public ports they listen on
 * @param tunnelsOpen  tunnels open now (frontends and gateways)
 * @param tunnelsTotal tunnels opened since start (frontends: connections routed)
 * @param refusals     refusals since start by reason (bounded: the service's outcome names)
 * @param sessions     gateways: node sessions held now
 */
public record MemberStats(String memberId, String role, boolean ready, java.util.List<Integer> publicPorts,
                          long tunnelsOpen, long tunnelsTotal, Map<String, Long> refusals, int sessions)
    implements BusMessage {

  /** How often each service publishes. */
  public static final long PERIOD_MILLIS = 2_000;

  public MemberStats {
    publicPorts = publicPorts == null ? java.util.List.of() : java.util.List.copyOf(publicPorts);
    refusals = refusals == null ? Map.of() : Map.copyOf(refusals);
  }

  public static MemberStats fromJson(JsonObject json) {
    Map<String, Long> refusals = new TreeMap<>();
    JsonObject r = json.getJsonObject("refusals", new JsonObject());
    for (String key : r.fieldNames()) {
      Object v = r.getValue(key);
      if (v instanceof Number n) {
        refusals.put(key, n.longValue());
      }
    }
    return new MemberStats(json.getString("memberId"), json.getString("role"), json.getBoolean("ready", false),
        Messages.intList(json.getJsonArray("publicPorts")), json.getLong("tunnelsOpen", 0L),
        json.getLong("tunnelsTotal", 0L), refusals, json.getInteger("sessions", 0));
  }

  @Override
  public JsonObject toJson() {
    JsonObject r = new JsonObject();
    new TreeMap<>(refusals).forEach(r::put);
    return new JsonObject().put("memberId", memberId).put("role", role).put("ready", ready)
        .put("publicPorts", new JsonArray(publicPorts)).put("tunnelsOpen", tunnelsOpen)
        .put("tunnelsTotal", tunnelsTotal).put("refusals", r).put("sessions", sessions);
  }
}
