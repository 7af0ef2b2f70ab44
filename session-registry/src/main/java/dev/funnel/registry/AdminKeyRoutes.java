package dev.funnel.registry;

import static dev.funnel.registry.AdminBodies.bool;
import static dev.funnel.registry.AdminBodies.integer;
import static dev.funnel.registry.AdminBodies.label;
import static dev.funnel.registry.AdminBodies.object;
import static dev.funnel.registry.AdminBodies.string;
import static dev.funnel.registry.AdminReplies.respond;
import static dev.funnel.registry.AdminReplies.time;

import dev.funnel.registry.store.AuthKeyInfo;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Set;

/**
 * The admin API's auth-key routes (mounted by {@link AdminApiVerticle} behind its token check and
 * body limit): {@code POST /v1/keys} (201 with the key, the only time it is shown),
 * {@code GET /v1/keys}, {@code DELETE /v1/keys/{id}}.
 */
final class AdminKeyRoutes {

  private AdminKeyRoutes() {
  }

  static void mount(Router router, RegistryService service) {
    router.post("/v1/keys").handler(ctx -> create(ctx, service));
    router.get("/v1/keys").handler(ctx -> respond(ctx, 200, service.keys(), keys -> new JsonObject()
        .put("keys", new JsonArray(keys.stream().map(AdminKeyRoutes::json).toList()))));
    router.delete("/v1/keys/:id").handler(ctx -> respond(ctx, 204, service.revokeKey(ctx.pathParam("id")), k -> null));
  }

  private static void create(RoutingContext ctx, RegistryService service) {
    JsonObject body = object(ctx, Set.of("tailnet", "reusable", "expirySeconds"));
    String tailnet = label(string(body, "tailnet", true), "tailnet name");
    Boolean reusable = bool(body, "reusable");
    Long expirySeconds = integer(body, "expirySeconds");
    if (expirySeconds != null && (expirySeconds <= 0 || expirySeconds > RegistryService.MAX_KEY_EXPIRY_SECONDS)) {
      throw AdminException.badRequest("expirySeconds must be between 1 and " + RegistryService.MAX_KEY_EXPIRY_SECONDS);
    }
    respond(ctx, 201, service.createKey(tailnet, reusable != null && reusable,
        expirySeconds == null ? null : Duration.ofSeconds(expirySeconds)), k -> new JsonObject()
        .put("id", k.info().id())
        .put("key", k.key())
        .put("tailnet", k.info().tailnet())
        .put("reusable", k.info().reusable())
        .put("expiresAt", time(k.info().expiresAt())));
  }

  static JsonObject json(AuthKeyInfo k) {
    return new JsonObject().put("id", k.id()).put("tailnet", k.tailnet()).put("reusable", k.reusable())
        .put("expiresAt", time(k.expiresAt())).put("usedAt", time(k.usedAt())).put("revokedAt", time(k.revokedAt()))
        .put("createdAt", time(k.createdAt()));
  }
}
