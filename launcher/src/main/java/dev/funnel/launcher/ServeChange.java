package dev.funnel.launcher;

import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.RoutePaths;
import dev.funnel.common.serve.ServeRoute;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * The body of {@code PUT /v1/serve/{port}} on the node's control, checked: either a route to add or
 * replace ({@link #route()}, its path defaulting to {@code /}), or new gate rules ({@link #policy()})
 * for the port ({@link #path()} null) or for its route on {@link #path()}.
 */
record ServeChange(ServeRoute route, String path, GatePolicy policy) {

  private static final Set<String> FIELDS = Set.of("target", "path", "policy");

  /** The change {@code body} asks for; {@link IllegalArgumentException} with the reason to answer (400) otherwise. */
  static ServeChange parse(JsonObject body) {
    if (body == null || body.isEmpty() || !FIELDS.containsAll(body.fieldNames())
        || (body.containsKey("target") && !(body.getValue("target") instanceof String))
        || (body.containsKey("path") && !(body.getValue("path") instanceof String))
        || (body.containsKey("policy") && !(body.getValue("policy") instanceof JsonObject))
        || (!body.containsKey("target") && !body.containsKey("policy"))) {
      throw new IllegalArgumentException("the body must be {\"target\": \"tcp://HOST:PORT\", \"path\"?: \"/p\", "
          + "\"policy\"?: {…}} or {\"policy\": {…}, \"path\"?: \"/p\"} and nothing else");
    }
    String path = body.containsKey("path") ? RoutePaths.canonical(body.getString("path")) : null;
    GatePolicy policy = body.containsKey("policy") ? GatePolicy.fromJson(body.getJsonObject("policy")) : GatePolicy.NONE;
    if (!body.containsKey("target")) {
      return new ServeChange(null, path, policy);
    }
    ServeTarget target = ServeTarget.parse(body.getString("target"));
    return new ServeChange(new ServeRoute(path == null ? "/" : path, target, policy), path, policy);
  }
}
