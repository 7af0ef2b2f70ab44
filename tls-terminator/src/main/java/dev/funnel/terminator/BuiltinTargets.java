package dev.funnel.terminator;

import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.RoutePaths;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

/**
 * The one-line targets: {@code text:STRING} answers {@code 200} with the string as
 * {@code text/plain; charset=utf-8} to any method; {@code redirect:URL} answers {@code 302 Found}
 * with {@code Location} = the URL with the rest of the path below the route and the query appended
 * (the route's prefix replaced by the URL, as for every target).
 */
final class BuiltinTargets {

  private BuiltinTargets() {
  }

  static Handler<RoutingContext> text(ServeTarget target) {
    String text = target.value();
    return ctx -> ctx.response().setStatusCode(200)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
        .end(text);
  }

  static Handler<RoutingContext> redirect(String routePath, ServeTarget target) {
    String url = target.value();
    return ctx -> {
      String location = location(url, routePath, ctx.request().path(), ctx.normalizedPath(), ctx.request().query());
      ctx.response().setStatusCode(302)
          .putHeader(HttpHeaders.LOCATION, location)
          .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
          .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
          .end("302 Found: " + location + "\n");
    };
  }

  /** The redirect's Location: {@code url} + the path below {@code routePath} + the query. Pure. */
  static String location(String url, String routePath, String rawPath, String normalizedPath, String query) {
    String path = rawPath == null || rawPath.isEmpty() ? "/" : rawPath;
    String rest = RoutePaths.matches(routePath, path) ? RoutePaths.rest(routePath, path)
        : RoutePaths.matches(routePath, normalizedPath) ? RoutePaths.rest(routePath, normalizedPath) : "";
    String joined = rest.isEmpty() || rest.equals("/") && url.endsWith("/") ? url : ForwardedHeaders.joinPath(url, rest);
    return joined + (query == null || query.isEmpty() ? "" : "?" + query);
  }
}
