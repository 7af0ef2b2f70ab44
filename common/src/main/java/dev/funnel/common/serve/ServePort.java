package dev.funnel.common.serve;

import dev.funnel.common.PublicPorts;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What one public port serves: its routes, longest path first, and the gate rules for the whole
 * port. Invariants (checked here, so every way in — flags, config file, run-time change — holds to
 * them): at least one route; no path twice; a stream target ({@code tcp://}, {@code
 * tls-terminated-tcp://}) only as the port's one route, on {@code /}, with no gate rules but the
 * CIDR lists and the rate limit (one stream per connection: no paths and no HTTP to judge; the node
 * agent checks the offer's client address before it dials, see {@link #streamPolicy()}).
 *
 * @param policy the gate rules for every route of the port ({@code --allow-cidr 443=…})
 */
public record ServePort(int port, GatePolicy policy, List<ServeRoute> routes) {

  /** Longest path first; equal lengths in text order (so the order is stable). */
  /** Longest path first (the router tries them so); paths of one length in reverse order, so that the lists read
   * shortest first (walking this backwards) sort as a site map does: {@code /}, {@code /f}, {@code /r}, {@code /t}. */
  static final Comparator<ServeRoute> LONGEST_FIRST =
      Comparator.comparingInt((ServeRoute r) -> -r.path().length())
          .thenComparing(ServeRoute::path, Comparator.reverseOrder());

  public ServePort {
    if (!PublicPorts.isAllowed(port)) {
      throw new IllegalArgumentException("public port " + port + " is not a Funnel port (443, 8443, 10000)");
    }
    policy = policy == null ? GatePolicy.NONE : policy;
    if (routes.isEmpty()) {
      throw new IllegalArgumentException("port " + port + " has no route");
    }
    List<ServeRoute> sorted = new ArrayList<>(routes);
    sorted.sort(LONGEST_FIRST);
    Set<String> paths = new HashSet<>();
    for (ServeRoute r : sorted) {
      if (!paths.add(r.path())) {
        throw new IllegalArgumentException("port " + port + " has two routes for " + r.path());
      }
    }
    for (ServeRoute r : sorted) {
      if (!r.target().kind().isStream()) {
        continue;
      }
      if (!r.path().equals("/") || sorted.size() > 1) {
        throw new IllegalArgumentException(r.target().kind().scheme + ":// takes a whole port (one stream, no paths): "
            + "funnel " + port + "=" + r.target() + " alone, or use http:// to route " + port + ":" + r.path());
      }
      if (!streamGate(r.policy()) || !streamGate(policy)) {
        throw new IllegalArgumentException("port " + port + " funnels " + r.target()
            + ": a stream port takes only --allow-cidr, --deny-cidr and --rate-limit (checked on each connection "
            + "before it is dialled); the other gate rules apply to HTTP targets (http://, https+insecure://, "
            + "file://, text:, redirect:)");
      }
    }
    routes = List.copyOf(sorted);
  }

  /** True when {@code p} asks only for what a stream port's gate can check (the offer's client address). */
  static boolean streamGate(GatePolicy p) {
    return p.verify() == null && p.auth() == null && p.maxBodyBytes() == 0 && p.maxConcurrent() == 0;
  }

  /**
   * The gate of a stream port, as the node agent applies it to each connection's offer (CIDR lists,
   * rate limit per client address); empty for an HTTP port (its gate is the terminator's, per route).
   */
  public Optional<GatePolicy> streamPolicy() {
    if (!isStream()) {
      return Optional.empty();
    }
    GatePolicy effective = routes.get(0).policy().over(policy);
    return effective.isEmpty() ? Optional.empty() : Optional.of(effective);
  }

  /** A port with one route, {@code /} → {@code target}, and no gate. */
  public static ServePort of(int port, ServeTarget target) {
    return new ServePort(port, GatePolicy.NONE, List.of(new ServeRoute("/", target)));
  }

  /** The route that takes {@code requestPath} (longest prefix); empty when none does. */
  public Optional<ServeRoute> match(String requestPath) {
    for (ServeRoute r : routes) {
      if (RoutePaths.matches(r.path(), requestPath)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  /** The route on exactly {@code path} (any spelling {@link RoutePaths#canonical} accepts); empty when none. */
  public Optional<ServeRoute> route(String path) {
    String p = RoutePaths.canonical(path);
    return routes.stream().filter(r -> r.path().equals(p)).findFirst();
  }

  /** {@code route}'s gate: its own rules over the port's. */
  public GatePolicy effective(ServeRoute route) {
    return route.policy().over(policy);
  }

  /** True when the port carries one stream per connection (its one route is {@code tcp://} or {@code tls-terminated-tcp://}). */
  public boolean isStream() {
    return routes.get(0).target().kind().isStream();
  }

  /**
   * The target the node agent answers offers for this port with: a stream port's target, else one
   * that the terminator serves (the {@code /} route's, or the first). The agent only needs to know
   * whether the port goes to the terminator and, for {@code tcp://}, where to dial.
   */
  public ServeTarget agentTarget() {
    return route("/").orElse(routes.get(0)).target();
  }

  /** This port with {@code route} added, or replacing the route on its path. */
  public ServePort withRoute(ServeRoute route) {
    List<ServeRoute> next = new ArrayList<>(routes);
    next.removeIf(r -> r.path().equals(route.path()));
    next.add(route);
    return new ServePort(port, policy, next);
  }

  /** This port without the route on {@code path}; empty when that was its last route. */
  public Optional<ServePort> withoutRoute(String path) {
    String p = RoutePaths.canonical(path);
    List<ServeRoute> next = new ArrayList<>(routes);
    next.removeIf(r -> r.path().equals(p));
    return next.isEmpty() ? Optional.empty() : Optional.of(new ServePort(port, policy, next));
  }

  public ServePort withPolicy(GatePolicy p) {
    return new ServePort(port, p, routes);
  }

  /** One line for logs: the target alone for a plain port, else each route with its effective rules. */
  public String describe() {
    if (routes.size() == 1 && routes.get(0).path().equals("/") && policy.isEmpty() && routes.get(0).policy().isEmpty()) {
      return agentTarget().toString();
    }
    StringBuilder out = new StringBuilder();
    for (ServeRoute r : routes) {
      GatePolicy e = effective(r);
      out.append(out.length() == 0 ? "" : ", ").append(r.path()).append(" → ").append(r.target())
          .append(e.isEmpty() ? "" : " [" + e.describe() + "]");
    }
    return out.toString();
  }

  /** {@code {"port", "policy"?, "routes": [{"path", "target", "policy"?}…]}} (policies left out when empty). */
  public JsonObject toJson() {
    JsonArray rs = new JsonArray();
    for (ServeRoute r : routes) {
      JsonObject o = new JsonObject().put("path", r.path()).put("target", r.target().toString());
      if (!r.policy().isEmpty()) {
        o.put("policy", r.policy().toJson());
      }
      rs.add(o);
    }
    JsonObject json = new JsonObject().put("port", port);
    if (!policy.isEmpty()) {
      json.put("policy", policy.toJson());
    }
    return json.put("routes", rs);
  }

  public static ServePort fromJson(JsonObject json) {
    List<ServeRoute> rs = new ArrayList<>();
    for (Object o : json.getJsonArray("routes", new JsonArray())) {
      JsonObject r = (JsonObject) o;
      rs.add(new ServeRoute(r.getString("path", "/"), ServeTarget.parse(r.getString("target")),
          GatePolicy.fromJson(r.getJsonObject("policy", new JsonObject()))));
    }
    return new ServePort(json.getInteger("port"), GatePolicy.fromJson(json.getJsonObject("policy", new JsonObject())), rs);
  }
}
