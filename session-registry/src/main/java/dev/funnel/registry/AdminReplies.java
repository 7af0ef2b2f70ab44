package dev.funnel.registry;

import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.function.Function;

/**
 * How the admin API answers: a JSON body (or none for 204), a failed future passed to the router's
 * failure handler, and errors as {@code {"error":{"code":…,"message":…}}}.
 */
final class AdminReplies {

  private AdminReplies() {
  }

  /** {@code result}'s value as {@code json} says, or the failure to the router's failure handler. */
  static <T> void respond(RoutingContext ctx, int status, Future<T> result, Function<T, JsonObject> json) {
    result.onSuccess(r -> send(ctx, status, json.apply(r))).onFailure(ctx::fail);
  }

  static void send(RoutingContext ctx, int status, JsonObject json) {
    if (status == 204 || json == null) {
      ctx.response().setStatusCode(status).end();
    } else {
      ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json.encode());
    }
  }

  static void error(RoutingContext ctx, int status, String code, String message) {
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    send(ctx, status, new JsonObject().put("error", new JsonObject().put("code", code).put("message", message)));
  }

  /** An instant as ISO-8601, or null. */
  static String time(Instant t) {
    return t == null ? null : t.toString();
  }
}
