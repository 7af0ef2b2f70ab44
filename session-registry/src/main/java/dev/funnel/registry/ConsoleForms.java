package dev.funnel.registry;

import dev.funnel.common.PublicPorts;
import io.vertx.core.MultiMap;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The console's forms, read strictly: the same rules as the REST API's bodies (names are DNS
 * labels, ports are Funnel ports), failing with {@link AdminException} (400) and a reason naming the
 * field. Pure functions of the submitted fields.
 */
final class ConsoleForms {

  /** The key lifetimes the console offers; "" is no expiry. */
  static final Map<String, Duration> EXPIRIES;

  static {
    Map<String, Duration> m = new LinkedHashMap<>();
    m.put("", null);
    m.put("1h", Duration.ofHours(1));
    m.put("24h", Duration.ofHours(24));
    m.put("7d", Duration.ofDays(7));
    m.put("30d", Duration.ofDays(30));
    m.put("90d", Duration.ofDays(90));
    EXPIRIES = java.util.Collections.unmodifiableMap(m);
  }

  private ConsoleForms() {
  }

  /** A new tailnet: its name, Funnel on or off, the ports it allows. */
  record NewTailnet(String name, boolean funnel, Set<Integer> ports) {
  }

  /** A new auth key: its tailnet, one-off or reusable, its lifetime (null: none). */
  record NewKey(String tailnet, boolean reusable, Duration expiry) {
  }

  static NewTailnet newTailnet(MultiMap form) {
    return new NewTailnet(AdminBodies.label(trimmed(form, "name"), "tailnet name"), checkbox(form, "funnel"),
        ports(form.getAll("ports")));
  }

  /** {@code on} or {@code off}. */
  static boolean funnel(MultiMap form) {
    String v = trimmed(form, "funnel");
    return switch (v) {
      case "on" -> true;
      case "off" -> false;
      default -> throw AdminException.badRequest("funnel must be on or off, got '" + v + "'");
    };
  }

  /** The ticked ports, each a Funnel port; none ticked is an empty set (the tailnet allows no port). */
  static Set<Integer> ports(List<String> values) {
    Set<Integer> ports = new TreeSet<>();
    for (String v : values) {
      int port;
      try {
        port = Integer.parseInt(v.trim());
      } catch (NumberFormatException e) {
        throw AdminException.badRequest("ports must be numbers, got '" + v + "'");
      }
      if (!PublicPorts.isAllowed(port)) {
        throw AdminException.badRequest("port " + port + " is not a Funnel port (443, 8443, 10000)");
      }
      ports.add(port);
    }
    return ports;
  }

  static NewKey newKey(MultiMap form) {
    String expiry = trimmed(form, "expiry");
    if (!EXPIRIES.containsKey(expiry)) {
      throw AdminException.badRequest("expiry must be one of " + EXPIRIES.keySet() + ", got '" + expiry + "'");
    }
    return new NewKey(AdminBodies.label(trimmed(form, "tailnet"), "tailnet name"), checkbox(form, "reusable"),
        EXPIRIES.get(expiry));
  }

  /** {@code NAME.TAILNET} → {@code [NAME, TAILNET]}, both DNS labels. */
  static String[] nodeName(String value) {
    String v = value == null ? "" : value.trim();
    int dot = v.indexOf('.');
    if (dot <= 0 || v.indexOf('.', dot + 1) >= 0) {
      throw AdminException.badRequest("node must be NAME.TAILNET, got '" + v + "'");
    }
    return new String[] {AdminBodies.label(v.substring(0, dot), "node name"),
        AdminBodies.label(v.substring(dot + 1), "tailnet name")};
  }

  private static boolean checkbox(MultiMap form, String field) {
    String v = form.get(field);
    return v != null && (v.equals("on") || v.equals("true"));
  }

  private static String trimmed(MultiMap form, String field) {
    String v = form.get(field);
    return v == null ? "" : v.trim();
  }
}
