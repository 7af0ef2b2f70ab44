package dev.funnel.registry;

import dev.funnel.common.bus.AliasInfo;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.time.Instant;
import java.util.Set;

/**
 * The admin API's custom-domain routes (mounted by {@link AdminApiVerticle} behind its token check
 * and body limit): {@code GET /v1/aliases}, {@code POST /v1/aliases} {@code {tailnet, node, alias}}
 * → 201 with the token and the records to publish, {@code DELETE /v1/aliases/{alias}[?node=NAME.TAILNET]}
 * → 204 (every node's claim, or that node's).
 */
final class AdminAliasRoutes {

  private AdminAliasRoutes() {
  }

  static void mount(Router router, RegistryService service) {
    router.get("/v1/aliases").handler(ctx -> AdminReplies.send(ctx, 200, new JsonObject().put("aliases",
        new JsonArray(service.aliases().list().stream().map(AdminAliasRoutes::json).toList()))));
    router.post("/v1/aliases").handler(ctx -> {
      AddRequest add = addRequest(ctx.body() == null ? null : ctx.body().buffer(), service.domain());
      AdminReplies.respond(ctx, 201, service.aliases().add(add.tailnet(), add.node(), add.alias()),
          AdminAliasRoutes::json);
    });
    router.delete("/v1/aliases/:alias").handler(ctx -> {
      String node = ctx.queryParams().get("node");
      String name = null;
      String tailnet = null;
      if (node != null) {
        String[] parts = node.split("\\.", -1);
        if (parts.length < 2) {
          throw AdminException.badRequest("node must be NAME.TAILNET, got '" + node + "'");
        }
        name = AdminBodies.label(parts[0], "node name");
        tailnet = AdminBodies.label(parts[1], "tailnet name");
      }
      service.aliases().remove(ctx.pathParam("alias"), tailnet, name)
          .onSuccess(gone -> ctx.response().setStatusCode(204).end())
          .onFailure(ctx::fail);
    });
  }

  /** A checked {@code POST /v1/aliases} body. */
  record AddRequest(String tailnet, String node, String alias) {
  }

  /**
   * The body of {@code POST /v1/aliases}, checked: a strict JSON object, tailnet and node DNS labels,
   * the alias a host name outside {@code domain}; {@link AdminException} (400) otherwise.
   */
  static AddRequest addRequest(io.vertx.core.buffer.Buffer raw, String domain) {
    JsonObject body = AdminBodies.object(raw, Set.of("tailnet", "node", "alias"));
    String tailnet = AdminBodies.label(AdminBodies.string(body, "tailnet", true), "tailnet name");
    String node = AdminBodies.label(AdminBodies.string(body, "node", true), "node name");
    String alias = AdminBodies.string(body, "alias", true);
    String name = dev.funnel.common.Hostnames.alias(alias, domain).orElseThrow(() -> AdminException.badRequest(
        "alias '" + alias.replaceAll("[^\\x20-\\x7e]", "?") + "' is not a host name outside " + domain
            + " (lower-case labels, at least two)"));
    return new AddRequest(tailnet, node, name);
  }

  static JsonObject json(AliasInfo a) {
    return new JsonObject().put("alias", a.alias()).put("tailnet", a.tailnet()).put("node", a.node())
        .put("target", a.target()).put("token", a.token()).put("state", a.state().label()).put("reason", a.reason())
        .put("checkedAt", a.checkedAt() == 0 ? null : Instant.ofEpochMilli(a.checkedAt()).toString())
        .put("origin", a.origin())
        .put("records", new JsonArray()
            .add(new JsonObject().put("name", a.challengeName()).put("type", "TXT").put("value", a.token()))
            .add(new JsonObject().put("name", a.alias()).put("type", "CNAME").put("value", a.target())));
  }

}
