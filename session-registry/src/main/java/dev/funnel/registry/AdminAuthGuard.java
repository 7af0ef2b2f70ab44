package dev.funnel.registry;

import dev.funnel.common.options.RegistryOptions;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import io.vertx.micrometer.backends.BackendRegistries;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.OptionalLong;

/**
 * The admin API's defence against token guessing: failed bearer-token attempts per source address
 * go through an {@link AuthFailureLimiter}; a source out of attempts gets {@code 429} with
 * {@code Retry-After} and the usual JSON error, before its token is even looked at. Refusals are
 * counted in {@code funnel_admin_auth_refusals_total{reason}} ({@code no_token},
 * {@code wrong_token}, {@code rate_limited}); never tagged with the address.
 */
final class AdminAuthGuard {

  private static final Logger LOG = System.getLogger(AdminAuthGuard.class.getName());

  private final AuthFailureLimiter limiter;
  private final MeterRegistry registry;
  private final Counter noToken;
  private final Counter wrongToken;
  private final Counter rateLimited;

  AdminAuthGuard(AuthFailureLimiter limiter, MeterRegistry registry) {
    this.limiter = limiter;
    this.registry = registry;
    this.noToken = counter(registry, "no_token");
    this.wrongToken = counter(registry, "wrong_token");
    this.rateLimited = counter(registry, "rate_limited");
  }

  /** With the limits in {@code options}, on Vert.x's metrics registry (a private one when metrics are off). */
  static AdminAuthGuard create(RegistryOptions options) {
    MeterRegistry registry = BackendRegistries.getDefaultNow();
    return new AdminAuthGuard(new AuthFailureLimiter(options.getAdminAuthFailureBurst(),
        options.getAdminAuthFailureRefillMillis(), AuthFailureLimiter.DEFAULT_MAX_SOURCES, System::nanoTime),
        registry != null ? registry : new SimpleMeterRegistry());
  }

  MeterRegistry registry() {
    return registry;
  }

  private static Counter counter(MeterRegistry registry, String reason) {
    return Counter.builder("funnel.admin.auth.refusals")
        .description("Admin API requests refused for their bearer token, by reason")
        .tag("reason", reason)
        .register(registry);
  }

  /** True when the request has been answered with 429: its source has no failed attempts left. */
  boolean refuseBlocked(RoutingContext ctx) {
    OptionalLong wait = blockedSeconds(ctx);
    if (wait.isEmpty()) {
      return false;
    }
    long seconds = wait.getAsLong();
    ctx.response()
        .setStatusCode(429)
        .putHeader("Retry-After", Long.toString(seconds))
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("error", new JsonObject()
            .put("code", "TOO_MANY_REQUESTS")
            .put("message", "too many failed token attempts from this address; retry in " + seconds + " s"))
            .encode());
    return true;
  }

  /**
   * Empty when the request's source may try a token; otherwise the seconds until it may (for
   * {@code Retry-After}), the refusal counted as {@code rate_limited}. The caller answers 429 (the
   * REST API in JSON through {@link #refuseBlocked}, the console with a page).
   */
  OptionalLong blockedSeconds(RoutingContext ctx) {
    OptionalLong waitMillis = limiter.blocked(source(ctx));
    if (waitMillis.isEmpty()) {
      return OptionalLong.empty();
    }
    rateLimited.increment();
    LOG.log(Level.DEBUG, "admin API {0} {1} from {2}: too many failed token attempts; rejecting",
        ctx.request().method(), ctx.normalizedPath(), source(ctx));
    return OptionalLong.of(Math.max(1, (waitMillis.getAsLong() + 999) / 1000));
  }

  /** The request's token was missing ({@code missing}) or wrong. */
  void failed(RoutingContext ctx, boolean missing) {
    (missing ? noToken : wrongToken).increment();
    String source = source(ctx);
    limiter.failed(source);
    if (limiter.blocked(source).isPresent()) {
      LOG.log(Level.INFO, "admin API: {0} is out of failed token attempts; refusing it with 429 until it may try again",
          source);
    }
  }

  private static String source(RoutingContext ctx) {
    SocketAddress remote = ctx.request().remoteAddress();
    return remote == null || remote.hostAddress() == null ? "unknown" : remote.hostAddress();
  }
}
