package dev.funnel.registry;

import static dev.funnel.registry.AdminBodies.label;
import static dev.funnel.registry.AdminReplies.respond;
import static dev.funnel.registry.AdminReplies.send;
import static dev.funnel.registry.AdminReplies.time;

import dev.funnel.common.bus.PortRefusals;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;

/**
 * The admin API's node routes (mounted by {@link AdminApiVerticle} behind its token check):
 * {@code GET /v1/nodes}, {@code DELETE /v1/nodes/{NAME.TAILNET[.domain]}}, and {@code GET /v1/status}
 * (members, nodes online, tunnels and refusals: {@link StatusView}).
 */
final class AdminNodeRoutes {

  private AdminNodeRoutes() {
  }

  static void mount(Router router, RegistryService service) {
    router.get("/v1/nodes").handler(ctx -> send(ctx, 200, new JsonObject().put("nodes",
        new JsonArray(service.nodes().stream().map(AdminNodeRoutes::json).toList()))));
    router.delete("/v1/nodes/:node").handler(ctx -> delete(ctx, service));
    router.get("/v1/status").handler(ctx -> send(ctx, 200, StatusView.json(
        service.clusterStats().summary(System.currentTimeMillis()), service.nodes(), service.domain())));
  }

  private static void delete(RoutingContext ctx, RegistryService service) {
    String name = ctx.pathParam("node");
    String suffix = "." + service.domain();
    if (name.endsWith(suffix)) {
      name = name.substring(0, name.length() - suffix.length());
    }
    int dot = name.indexOf('.');
    if (dot <= 0 || name.indexOf('.', dot + 1) >= 0) {
      throw AdminException.badRequest("node must be NAME.TAILNET, got '" + ctx.pathParam("node") + "'");
    }
    String node = label(name.substring(0, dot), "node name");
    String tailnet = label(name.substring(dot + 1), "tailnet name");
    respond(ctx, 204, service.deleteNode(node, tailnet), n -> null);
  }

  static JsonObject json(NodeView v) {
    return new JsonObject().put("id", v.node().id()).put("name", v.node().name()).put("tailnet", v.node().tailnet())
        .put("fqdn", v.fqdn()).put("online", v.online()).put("gateways", new JsonArray(v.gateways()))
        .put("ports", new JsonArray(v.ports()))
        .put("refused", PortRefusals.toJson(v.refused())).put("keyId", v.node().keyId())
        .put("createdAt", time(v.node().createdAt()))
        .put("certificateExpiresAt", time(v.certNotAfter())).put("certificateDaysLeft", v.certDaysLeft(Instant.now()));
  }
}
