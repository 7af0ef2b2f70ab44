package dev.funnel.registry;

import static dev.funnel.registry.AdminBodies.bool;
import static dev.funnel.registry.AdminBodies.label;
import static dev.funnel.registry.AdminBodies.object;
import static dev.funnel.registry.AdminBodies.ports;
import static dev.funnel.registry.AdminBodies.string;
import static dev.funnel.registry.AdminReplies.respond;
import static dev.funnel.registry.AdminReplies.send;
import static dev.funnel.registry.AdminReplies.time;

import dev.funnel.registry.store.Tailnet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.util.Set;

/**
 * The admin API's tailnet routes (mounted by {@link AdminApiVerticle} behind its token check and
 * body limit): {@code POST /v1/tailnets}, {@code GET /v1/tailnets[/{name}]},
 * {@code PATCH /v1/tailnets/{name}}, {@code DELETE /v1/tailnets/{name}}.
 */
final class AdminTailnetRoutes {

  private AdminTailnetRoutes() {
  }

  static void mount(Router router, RegistryService service) {
    router.post("/v1/tailnets").handler(ctx -> {
      JsonObject body = object(ctx, Set.of("name", "funnel", "ports"));
      String name = label(string(body, "name", true), "tailnet name");
      Boolean funnel = bool(body, "funnel");
      Set<Integer> ports = ports(body, "ports");
      respond(ctx, 201, service.createTailnet(name, funnel != null && funnel, ports == null ? AdminApiVerticle.DEFAULT_PORTS : ports),
          AdminTailnetRoutes::json);
    });
    router.get("/v1/tailnets").handler(ctx -> send(ctx, 200, new JsonObject().put("tailnets",
        new JsonArray(service.tailnets().stream().map(AdminTailnetRoutes::json).toList()))));
    router.get("/v1/tailnets/:name").handler(ctx -> respond(ctx, 200,
        service.tailnet(label(ctx.pathParam("name"), "tailnet name")), AdminTailnetRoutes::json));
    router.patch("/v1/tailnets/:name").handler(ctx -> {
      String name = label(ctx.pathParam("name"), "tailnet name");
      JsonObject body = object(ctx, Set.of("funnel", "ports"));
      respond(ctx, 200, service.updateTailnet(name, bool(body, "funnel"), ports(body, "ports")),
          AdminTailnetRoutes::json);
    });
    router.delete("/v1/tailnets/:name").handler(ctx -> respond(ctx, 204,
        service.deleteTailnet(label(ctx.pathParam("name"), "tailnet name")), v -> null));
  }

  static JsonObject json(Tailnet t) {
    return new JsonObject().put("name", t.name()).put("funnel", t.funnel()).put("ports", new JsonArray(t.ports()))
        .put("createdAt", time(t.createdAt()));
  }
}
