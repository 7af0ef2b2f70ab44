package dev.funnel.registry;

import com.hazelcast.map.EntryProcessor;
import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One change to one node's entry in {@link dev.funnel.common.cluster.ClusterMaps#LIVE_SESSIONS},
 * applied atomically where the entry lives (and replayed on its backup, so every input, the clock
 * included, travels in the processor). The entry is {@code {"v": version, "sessions": [...]}}; each
 * change bumps the version, which lets every registry's local view ignore an older event that
 * arrives after a newer one. Returns {@code {"v", "before", "after"}}.
 */
final class SessionsProcessor implements EntryProcessor<String, String, String> {

  private static final long serialVersionUID = 1L;

  enum Op { PUT, RENEW, PORTS, REMOVE, REMOVE_NODE, REMOVE_GATEWAYS, SWEEP }

  private final Op op;
  /** The operation's arguments as JSON text (plain strings serialise anywhere). */
  private final String args;

  SessionsProcessor(Op op, JsonObject args) {
    this.op = op;
    this.args = args.encode();
  }

  @Override
  public String process(Map.Entry<String, String> entry) {
    JsonObject stored = entry.getValue() == null ? new JsonObject() : new JsonObject(entry.getValue());
    long version = stored.getLong("v", 0L);
    List<Live> before = SessionLists.fromJson(stored.getJsonArray("sessions"));
    List<Live> after = apply(before, new JsonObject(args));
    if (!after.equals(before)) {
      version++;
      entry.setValue(new JsonObject().put("v", version).put("sessions", SessionLists.toJson(after)).encode());
    }
    return new JsonObject().put("v", version).put("before", SessionLists.toJson(before))
        .put("after", SessionLists.toJson(after)).encode();
  }

  private List<Live> apply(List<Live> before, JsonObject a) {
    return switch (op) {
      case PUT -> SessionLists.put(before, SessionLists.fromJson(a.getJsonObject("session")),
          a.containsKey("withdrawn") ? strings(a.getJsonArray("withdrawn")) : Set.of());
      case RENEW -> SessionLists.renew(before, a.getString("gatewayId"), a.getLong("epoch"), a.getLong("now"),
          a.getLong("expiresAt"));
      case PORTS -> SessionLists.updatePorts(before, a.getString("gatewayId"), a.getLong("epoch"),
          ints(a.getJsonArray("ports")), a.getLong("now"), a.getLong("expiresAt"));
      case REMOVE -> SessionLists.remove(before, a.getString("gatewayId"), a.getLong("epoch"));
      case REMOVE_NODE -> List.of();
      case REMOVE_GATEWAYS -> SessionLists.removeGateways(before, strings(a.getJsonArray("gatewayIds")));
      case SWEEP -> SessionLists.sweep(before, a.getLong("now"));
    };
  }

  private static List<Integer> ints(JsonArray array) {
    return array.stream().map(o -> ((Number) o).intValue()).toList();
  }

  private static Set<String> strings(JsonArray array) {
    Set<String> out = new HashSet<>();
    array.forEach(o -> out.add((String) o));
    return out;
  }
}
