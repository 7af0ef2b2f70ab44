package dev.funnel.common.serve;

import dev.funnel.common.options.ServeTarget;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A node's serve config: public port → {@link ServePort}. Immutable; every change returns a new
 * config, which callers swap in atomically (a connection or request reads one snapshot).
 */
public record ServeConfig(SortedMap<Integer, ServePort> ports) {

  public static final ServeConfig EMPTY = new ServeConfig(new TreeMap<>());

  public ServeConfig {
    for (Map.Entry<Integer, ServePort> e : ports.entrySet()) {
      if (e.getKey() != e.getValue().port()) {
        throw new IllegalArgumentException("port " + e.getKey() + " maps to the config of port " + e.getValue().port());
      }
    }
    ports = Collections.unmodifiableSortedMap(new TreeMap<>(ports));
  }

  /** One {@code /} route per port, no gates: the shape of the {@code PORT=TARGET} config. */
  public static ServeConfig of(Map<Integer, ServeTarget> targets) {
    TreeMap<Integer, ServePort> out = new TreeMap<>();
    targets.forEach((port, target) -> out.put(port, ServePort.of(port, target)));
    return new ServeConfig(out);
  }

  public Optional<ServePort> port(int port) {
    return Optional.ofNullable(ports.get(port));
  }

  /** {@code route} added to {@code port} (the port created if it was not funnelled), or replacing the route on its path. */
  public ServeConfig withRoute(int port, ServeRoute route) {
    ServePort p = ports.get(port);
    return with(p == null ? new ServePort(port, GatePolicy.NONE, java.util.List.of(route)) : p.withRoute(route));
  }

  /** Without the route on {@code path} of {@code port} (the port goes when it was its last route); unchanged if none. */
  public ServeConfig withoutRoute(int port, String path) {
    ServePort p = ports.get(port);
    if (p == null) {
      return this;
    }
    TreeMap<Integer, ServePort> next = new TreeMap<>(ports);
    p.withoutRoute(path).ifPresentOrElse(q -> next.put(port, q), () -> next.remove(port));
    return new ServeConfig(next);
  }

  public ServeConfig withoutPort(int port) {
    TreeMap<Integer, ServePort> next = new TreeMap<>(ports);
    next.remove(port);
    return new ServeConfig(next);
  }

  /** {@code p} in place of the port's config. */
  public ServeConfig with(ServePort p) {
    TreeMap<Integer, ServePort> next = new TreeMap<>(ports);
    next.put(p.port(), p);
    return new ServeConfig(next);
  }

  /** Port → the target the node agent answers offers with ({@link ServePort#agentTarget()}). */
  public Map<Integer, ServeTarget> agentTargets() {
    Map<Integer, ServeTarget> out = new LinkedHashMap<>();
    ports.forEach((port, p) -> out.put(port, p.agentTarget()));
    return out;
  }

  public JsonArray toJson() {
    JsonArray out = new JsonArray();
    ports.values().forEach(p -> out.add(p.toJson()));
    return out;
  }

  public static ServeConfig fromJson(JsonArray json) {
    TreeMap<Integer, ServePort> out = new TreeMap<>();
    for (Object o : json) {
      ServePort p = ServePort.fromJson((JsonObject) o);
      out.put(p.port(), p);
    }
    return new ServeConfig(out);
  }
}
