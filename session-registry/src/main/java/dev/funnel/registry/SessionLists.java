package dev.funnel.registry;

import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * One node's sessions as an immutable list, newest first, and the changes the registry makes to
 * it: the same rules as {@link LiveSessions}, as pure functions, so a Hazelcast entry processor can
 * apply them where the entry lives. Also the JSON form the cluster map stores.
 */
final class SessionLists {

  private static final Comparator<Live> NEWEST_FIRST = Comparator.comparingLong(Live::epoch).reversed();

  private SessionLists() {
  }

  /** {@code session} added; the same gateway's older session and, past the cap, the oldest others gone. */
  static List<Live> put(List<Live> current, Live session) {
    return put(current, session, Set.of());
  }

  /**
   * As {@link #put(List, Live)}, but the sessions named in {@code withdrawn} ({@link #key}) go
   * first, whatever their age: a node that lost its newest session and logs in elsewhere must keep
   * its other live session, not the lost one, when the table has not dropped the lost one yet.
   */
  static List<Live> put(List<Live> current, Live session, Set<String> withdrawn) {
    List<Live> next = new ArrayList<>();
    next.add(session);
    for (Live l : current) {
      if (!l.gatewayId().equals(session.gatewayId()) && !withdrawn.contains(key(l.gatewayId(), l.epoch()))) {
        next.add(l);
      }
    }
    next.sort(NEWEST_FIRST);
    while (next.size() > LiveSessions.MAX_GATEWAYS_PER_NODE) {
      next.remove(next.size() - 1);
    }
    return List.copyOf(next);
  }

  static List<Live> renew(List<Live> current, String gatewayId, long epoch, long now, long expiresAt) {
    List<Live> next = new ArrayList<>(current.size());
    for (Live l : current) {
      next.add(l.is(gatewayId, epoch) && l.liveAt(now)
          ? new Live(l.nodeId(), l.fqdn(), l.gatewayId(), l.epoch(), l.ports(), expiresAt) : l);
    }
    return List.copyOf(next);
  }

  static List<Live> updatePorts(List<Live> current, String gatewayId, long epoch, List<Integer> ports, long now,
                                long expiresAt) {
    List<Live> next = new ArrayList<>(current.size());
    for (Live l : current) {
      next.add(l.is(gatewayId, epoch) && l.liveAt(now)
          ? new Live(l.nodeId(), l.fqdn(), l.gatewayId(), l.epoch(), ports, expiresAt) : l);
    }
    return List.copyOf(next);
  }

  static List<Live> remove(List<Live> current, String gatewayId, long epoch) {
    return current.stream().filter(l -> !l.is(gatewayId, epoch)).toList();
  }

  static List<Live> removeGateways(List<Live> current, Set<String> gatewayIds) {
    return current.stream().filter(l -> !gatewayIds.contains(l.gatewayId())).toList();
  }

  static List<Live> sweep(List<Live> current, long now) {
    return current.stream().filter(l -> l.liveAt(now)).toList();
  }

  /** Sessions in {@code before} that are not, unchanged, in {@code after}: what a change took away. */
  static List<Live> gone(List<Live> before, List<Live> after) {
    return before.stream().filter(b -> after.stream().noneMatch(a -> a.is(b.gatewayId(), b.epoch()))).toList();
  }

  /** One session of a node, as a string: {@code gatewayId + " " + epoch} (gateway ids hold no spaces). */
  static String key(String gatewayId, long epoch) {
    return gatewayId + " " + epoch;
  }

  /** The session (gatewayId, epoch) in {@code list}, or null. */
  static Live find(List<Live> list, String gatewayId, long epoch) {
    for (Live l : list) {
      if (l.is(gatewayId, epoch)) {
        return l;
      }
    }
    return null;
  }

  static JsonObject toJson(Live l) {
    return new JsonObject().put("nodeId", l.nodeId()).put("fqdn", l.fqdn()).put("gatewayId", l.gatewayId())
        .put("epoch", l.epoch()).put("ports", new JsonArray(l.ports())).put("expiresAt", l.expiresAt());
  }

  static Live fromJson(JsonObject json) {
    List<Integer> ports = new ArrayList<>();
    JsonArray array = json.getJsonArray("ports", new JsonArray());
    for (int i = 0; i < array.size(); i++) {
      ports.add(array.getInteger(i));
    }
    return new Live(json.getString("nodeId"), json.getString("fqdn"), json.getString("gatewayId"),
        json.getLong("epoch"), ports, json.getLong("expiresAt"));
  }

  static JsonArray toJson(List<Live> list) {
    JsonArray out = new JsonArray();
    list.forEach(l -> out.add(toJson(l)));
    return out;
  }

  static List<Live> fromJson(JsonArray array) {
    List<Live> out = new ArrayList<>();
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        out.add(fromJson(array.getJsonObject(i)));
      }
    }
    return List.copyOf(out);
  }
}
