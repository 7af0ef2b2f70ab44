package dev.funnel.registry;

import dev.funnel.common.Hostnames;
import dev.funnel.common.PublicPorts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.math.BigInteger;
import java.util.Set;
import java.util.TreeSet;

/**
 * The admin API's request bodies and path names, checked strictly: a JSON object with known fields
 * only, each of the expected type, DNS labels and Funnel ports; an {@link AdminException} (400)
 * naming the field otherwise.
 */
final class AdminBodies {

  private AdminBodies() {
  }

  /** The body as a JSON object with no field outside {@code allowed}; 400 otherwise. */
  static JsonObject object(RoutingContext ctx, Set<String> allowed) {
    return object(ctx.body() == null ? null : ctx.body().buffer(), allowed);
  }

  /** {@code body} as a JSON object with no field outside {@code allowed}; {@link AdminException} (400) otherwise. */
  static JsonObject object(Buffer body, Set<String> allowed) {
    if (body == null || body.length() == 0) {
      throw AdminException.badRequest("a JSON object body is required");
    }
    Object parsed;
    try {
      parsed = Json.decodeValue(body);
    } catch (DecodeException e) {
      throw AdminException.badRequest("the body is not valid JSON");
    }
    if (!(parsed instanceof JsonObject json)) {
      throw AdminException.badRequest("the body must be a JSON object");
    }
    for (String field : json.fieldNames()) {
      if (!allowed.contains(field)) {
        throw AdminException.badRequest("unknown field '" + field + "' (allowed: " + new TreeSet<>(allowed) + ")");
      }
    }
    return json;
  }

  static String string(JsonObject json, String field, boolean required) {
    Object v = json.getValue(field);
    if (v == null) {
      if (required) {
        throw AdminException.badRequest("field '" + field + "' is required");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw AdminException.badRequest("field '" + field + "' must be a string");
    }
    return s;
  }

  static Boolean bool(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v != null && !(v instanceof Boolean)) {
      throw AdminException.badRequest("field '" + field + "' must be true or false");
    }
    return (Boolean) v;
  }

  static Long integer(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (v instanceof Integer || v instanceof Long || (v instanceof BigInteger b && b.bitLength() < 64)) {
      return ((Number) v).longValue();
    }
    throw AdminException.badRequest("field '" + field + "' must be an integer");
  }

  static Set<Integer> ports(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray array)) {
      throw AdminException.badRequest("field '" + field + "' must be an array of ports");
    }
    Set<Integer> ports = new TreeSet<>();
    for (Object p : array) {
      if (!(p instanceof Integer port)) {
        throw AdminException.badRequest("field '" + field + "' must hold integers, got " + Json.encode(p));
      }
      if (!PublicPorts.isAllowed(port)) {
        throw AdminException.badRequest("port " + port + " is not a Funnel port (443, 8443, 10000)");
      }
      ports.add(port);
    }
    return ports;
  }

  static String label(String value, String what) {
    if (!Hostnames.isLabel(value)) {
      throw AdminException.badRequest(what + " '" + value
          + "' is not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end)");
    }
    return value;
  }
}
