package dev.funnel.registry;

import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.ConsolePages.Flash;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CSPHandler;
import io.vertx.ext.web.handler.CSRFHandler;
import io.vertx.ext.web.handler.SessionHandler;
import io.vertx.ext.web.handler.StaticHandler;
import io.vertx.ext.web.sstore.ClusteredSessionStore;
import io.vertx.ext.web.sstore.LocalSessionStore;
import io.vertx.ext.web.sstore.SessionStore;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

/**
 * The admin console under {@code /ui/} on the admin API's listener (Vert.x Web): sign-in with the
 * admin token, then pages for tailnets, auth keys, nodes and live figures. Every change calls the
 * same {@link RegistryService} method as the REST API, so it is visible there at once.
 *
 * <ul>
 *   <li>Sign-in compares the token in constant time; a wrong or missing one is counted by the REST
 *       API's {@link AdminAuthGuard} (same per-address limiter, same refusal counter), and a source
 *       out of attempts gets 429. On success the session id is regenerated and the session marked
 *       signed in: the browser holds only the random session id ({@code funnel-console} cookie,
 *       {@code Secure}, {@code HttpOnly}, {@code SameSite=Strict}, path {@code /ui}), never the
 *       token. Sign-out destroys the session.</li>
 *   <li>CSRF: Vert.x Web's {@link CSRFHandler} (a signed token bound to the session, sent back as a
 *       form field or header, also in a {@code Secure HttpOnly SameSite=Strict} cookie) on every
 *       POST, sign-in included; a change without it is 403.</li>
 *   <li>{@code Content-Security-Policy: default-src 'self'; base-uri 'none'; form-action 'self';
 *       frame-ancestors 'none'}: the pages have no inline script or style; htmx (WebJar) and
 *       {@code console.css} are static files.</li>
 * </ul>
 */
final class ConsoleRoutes {

  private static final Logger LOG = System.getLogger(ConsoleRoutes.class.getName());

  /** The cluster-wide map of console sessions (clustered registries). */
  static final String CLUSTERED_SESSIONS = "funnel.console.sessions";
  /** The CSRF cookie's name. */
  static final String CSRF_COOKIE = "funnel-console-csrf";
  /** A console session ends after this long unused. */
  static final long SESSION_TIMEOUT_MILLIS = 30 * 60_000L;
  /** The htmx WebJar's version (the dependency in this module's POM). */
  static final String HTMX_VERSION = "2.0.4";
  static final String HTMX_ROOT = "META-INF/resources/webjars/htmx.org/" + HTMX_VERSION + "/dist";
  static final String STATIC_ROOT = "funnel-console";
  static final String CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  private static final String FLASH_OK = "flash.ok";
  private static final String FLASH_MESSAGE = "flash.message";

  private final Vertx vertx;
  private final RegistryService service;
  private final SessionStore sessions;
  private final ConsoleSignIn signIn;
  private final ConsoleOidc oidc;
  private final Supplier<String> token;

  ConsoleRoutes(Vertx vertx, RegistryService service, AdminAuthGuard guard, Supplier<String> token,
                int maxSessions, RegistryOptions options) {
    this.vertx = vertx;
    this.service = service;
    this.token = token;
    // Clustered (funnel registry --cluster): one session store for every registry, so a signed-in
    // admin stays signed in whichever registry behind the admin address a request lands on.
    this.sessions = vertx.isClustered() ? ClusteredSessionStore.create(vertx, CLUSTERED_SESSIONS)
        : LocalSessionStore.create(vertx, "funnel.console.sessions." + System.identityHashCode(this));
    this.oidc = options.getConsoleOidc() == null ? null
        : new ConsoleOidc(vertx, options.getConsoleOidc(), options.getConsoleAllowEmails(), sessions);
    this.signIn = new ConsoleSignIn(guard, token, sessions, maxSessions, oidc != null);
  }

  /**
   * Loads the page classes and unpacks the static files from the jar now, on a worker thread, so
   * the first request does not pay for it on the event loop.
   */
  void warmUp() {
    ConsolePages.signIn("", null);
    ConsoleTables.tailnets("", null, List.of());
    ConsoleTables.keys("", null, List.of(), List.of(), null, Instant.now());
    ConsoleTables.nodes("", null, List.of(), java.util.Map.of());
    for (String file : List.of(HTMX_ROOT + "/htmx.min.js", STATIC_ROOT + "/console.css", STATIC_ROOT + "/favicon.svg")) {
      if (vertx.fileSystem().existsBlocking(file)) {
        vertx.fileSystem().propsBlocking(file);
      }
    }
  }

  /** Starts the OpenID Connect provider's discovery, when one is configured (in the background). */
  void start() {
    if (oidc != null) {
      oidc.start();
    }
  }

  /** Frees the session store (its reaper timer) and the provider. */
  void close() {
    if (oidc != null) {
      oidc.close();
    }
    sessions.close();
  }

  /** The console's router, to mount at {@code /ui/*}. */
  Router router() {
    Router router = Router.router(vertx);
    router.route().handler(CSPHandler.create().setDirective("default-src", "'self'")
        .setDirective("base-uri", "'none'").setDirective("form-action", "'self'")
        .setDirective("frame-ancestors", "'none'"));
    router.route().handler(ctx -> {
      ctx.response().putHeader("X-Content-Type-Options", "nosniff").putHeader("Referrer-Policy", "no-referrer");
      ctx.next();
    });
    router.get("/static/htmx/*").handler(StaticHandler.create(HTMX_ROOT).setDirectoryListing(false));
    router.get("/static/*").handler(StaticHandler.create(STATIC_ROOT).setDirectoryListing(false));

    router.route().handler(ctx -> {
      ctx.response().putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
      ctx.next();
    });
    router.route().handler(BodyHandler.create(false).setBodyLimit(AdminApiVerticle.MAX_BODY_BYTES));
    router.route().handler(signIn::boundSessions);
    router.route().handler(SessionHandler.create(sessions).setSessionCookieName(ConsoleSignIn.SESSION_COOKIE)
        .setSessionCookiePath(ConsolePages.BASE).setCookieSecureFlag(true).setCookieHttpOnlyFlag(true)
        .setCookieSameSite(CookieSameSite.STRICT).setSessionTimeout(SESSION_TIMEOUT_MILLIS));
    router.route().handler(CSRFHandler.create(vertx, csrfSecret(token.get())).setCookieName(CSRF_COOKIE)
        .setCookiePath(ConsolePages.BASE).setCookieHttpOnly(true).setCookieSecure(true)
        .setTimeout(SESSION_TIMEOUT_MILLIS));

    router.get("/sign-in").handler(ctx -> html(ctx, 200, signIn.page(ctx, null)));
    router.post("/sign-in").handler(signIn::signIn);
    if (oidc != null) {
      router.get("/oidc/sign-in").handler(oidc::begin);
      router.get("/oidc/callback").handler(oidc::callback);
    }
    router.route().handler(signIn::requireSignIn);
    router.post("/sign-out").handler(ctx -> {
      ctx.session().destroy();
      redirect(ctx, "/ui/sign-in");
    });

    router.get("/").handler(ctx -> html(ctx, 200, ConsolePages.overview(csrf(ctx), flash(ctx), figuresHtml())));
    router.get("/figures").handler(ctx -> html(ctx, 200, figuresHtml()));

    router.get("/tailnets").handler(ctx -> html(ctx, 200,
        ConsoleTables.tailnets(csrf(ctx), flash(ctx), service.tailnets())));
    router.post("/tailnets").handler(ctx -> change(ctx, "/ui/tailnets", () -> {
      ConsoleForms.NewTailnet t = ConsoleForms.newTailnet(ctx.request().formAttributes());
      return service.createTailnet(t.name(), t.funnel(), t.ports()).map(n -> "Tailnet " + n.name() + " added");
    }));
    router.post("/tailnets/:name/funnel").handler(ctx -> change(ctx, "/ui/tailnets", () -> {
      boolean on = ConsoleForms.funnel(ctx.request().formAttributes());
      return service.updateTailnet(tailnet(ctx), on, null)
          .map(t -> "Funnel is " + (t.funnel() ? "on" : "off") + " for tailnet " + t.name());
    }));
    router.post("/tailnets/:name/ports").handler(ctx -> change(ctx, "/ui/tailnets", () ->
        service.updateTailnet(tailnet(ctx), null, ConsoleForms.ports(ctx.request().formAttributes().getAll("ports")))
            .map(t -> "Tailnet " + t.name() + " allows " + (t.ports().isEmpty() ? "no port" : "ports " + t.ports()))));
    router.post("/tailnets/:name/delete").handler(ctx -> change(ctx, "/ui/tailnets", () -> {
      String name = tailnet(ctx);
      return service.deleteTailnet(name).map(v -> "Tailnet " + name + " removed (its keys and nodes with it)");
    }));

    router.get("/keys").handler(ctx -> service.keys().onSuccess(keys -> html(ctx, 200,
        ConsoleTables.keys(csrf(ctx), flash(ctx), keys, service.tailnets(), null, Instant.now()))).onFailure(ctx::fail));
    router.post("/keys").handler(this::createKey);
    router.post("/keys/:id/revoke").handler(ctx -> change(ctx, "/ui/keys", () ->
        service.revokeKey(ctx.pathParam("id")).map(k -> "Key " + k.id() + " revoked")));

    router.get("/nodes").handler(ctx -> html(ctx, 200, ConsoleTables.nodes(csrf(ctx), flash(ctx), service.nodes(),
        ConsoleTables.byName(service.tailnets()))));
    router.get("/nodes/rows").handler(ctx -> html(ctx, 200, ConsoleTables.nodeRows(csrf(ctx), service.nodes(),
        ConsoleTables.byName(service.tailnets()))));
    router.post("/nodes/:node/delete").handler(ctx -> change(ctx, "/ui/nodes", () -> {
      String[] n = ConsoleForms.nodeName(ctx.pathParam("node"));
      return service.deleteNode(n[0], n[1]).map(node -> "Node " + node.shortName() + " removed");
    }));

    router.route().failureHandler(this::onFailure);
    return router;
  }

  // ---------------------------------------------------------------- changes

  private void createKey(RoutingContext ctx) {
    ConsoleForms.NewKey k;
    try {
      k = ConsoleForms.newKey(ctx.request().formAttributes());
    } catch (AdminException e) {
      flashAndRedirect(ctx, false, e.getMessage(), "/ui/keys");
      return;
    }
    service.createKey(k.tailnet(), k.reusable(), k.expiry())
        .compose(created -> service.keys().onSuccess(keys -> html(ctx, 201, ConsoleTables.keys(csrf(ctx),
            new Flash(true, "Key " + created.info().id() + " created"), keys, service.tailnets(), created,
            Instant.now()))))
        .onFailure(e -> failedChange(ctx, e, "/ui/keys"));
  }

  /**
   * Runs a change (its form read by {@code action}, which may throw {@link AdminException}), then
   * redirects to {@code back} with its message, or with the refusal's reason.
   */
  private void change(RoutingContext ctx, String back, Supplier<Future<String>> action) {
    Future<String> done;
    try {
      done = action.get();
    } catch (AdminException e) {
      done = Future.failedFuture(e);
    }
    done.onSuccess(message -> flashAndRedirect(ctx, true, message, back))
        .onFailure(e -> failedChange(ctx, e, back));
  }

  private void failedChange(RoutingContext ctx, Throwable e, String back) {
    if (e instanceof AdminException refused) {
      flashAndRedirect(ctx, false, refused.getMessage(), back);
    } else {
      ctx.fail(e);
    }
  }

  private void flashAndRedirect(RoutingContext ctx, boolean ok, String message, String to) {
    ctx.session().put(FLASH_OK, ok);
    ctx.session().put(FLASH_MESSAGE, message);
    redirect(ctx, to);
  }

  private static Flash flash(RoutingContext ctx) {
    Session session = ctx.session();
    String message = session == null ? null : session.remove(FLASH_MESSAGE);
    if (message == null) {
      return null;
    }
    Boolean ok = session.remove(FLASH_OK);
    return new Flash(Boolean.TRUE.equals(ok), message);
  }

  // ---------------------------------------------------------------- plumbing

  private Html figuresHtml() {
    List<NodeView> nodes = service.nodes();
    ConsolePages.Counts counts = new ConsolePages.Counts(nodes.size(),
        (int) nodes.stream().filter(NodeView::online).count(), service.sessionCount(),
        service.tailnets().size());
    // The cluster's figures, as GET /v1/status has them: this process has no frontend's meters in a cluster.
    return ConsolePages.figures(counts, service.clusterStats().summary(System.currentTimeMillis()));
  }

  private static String tailnet(RoutingContext ctx) {
    return AdminBodies.label(ctx.pathParam("name"), "tailnet name");
  }

  static String csrf(RoutingContext ctx) {
    String t = ctx.get(ConsolePages.CSRF_FIELD);
    return t == null ? "" : t;
  }

  static void html(RoutingContext ctx, int status, Html html) {
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .end(html.value());
  }

  static void redirect(RoutingContext ctx, String to) {
    ctx.response().setStatusCode(303).putHeader(HttpHeaders.LOCATION, to).end();
  }

  private void onFailure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    if (ctx.statusCode() == 403) {
      LOG.log(Level.INFO, "admin console {0} {1} from {2}: {3}; rejecting", ctx.request().method(),
          ctx.normalizedPath(), ctx.request().remoteAddress(),
          failure == null ? "forbidden" : "CSRF check failed (" + failure.getMessage() + ")");
      html(ctx, 403, ConsolePages.error(403, "This form was out of date or did not come from the console "
          + "(CSRF check failed): reload the page and try again."));
    } else if (failure instanceof AdminException refused) {
      html(ctx, refused.code().status, ConsolePages.error(refused.code().status, refused.getMessage()));
    } else if (ctx.statusCode() == 413) {
      html(ctx, 413, ConsolePages.error(413, "The form is larger than " + AdminApiVerticle.MAX_BODY_BYTES
          + " bytes."));
    } else if (ctx.statusCode() == 404) {
      html(ctx, 404, ConsolePages.error(404, "No such page."));
    } else {
      LOG.log(Level.ERROR, "admin console " + ctx.request().method() + " " + ctx.normalizedPath() + " failed", failure);
      html(ctx, 500, ConsolePages.error(500, "Internal error; see the registry's log."));
    }
  }

  /**
   * The CSRF tokens' signing key: derived from the admin token (HMAC-SHA256 over a fixed label), so
   * every registry sharing the token (the state directory's {@code admin-token}) accepts the forms
   * another one rendered, and a new token makes new keys. Never the token itself.
   */
  static String csrfSecret(String adminToken) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(adminToken.getBytes(java.nio.charset.StandardCharsets.UTF_8),
          "HmacSHA256"));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          mac.doFinal("funnel console csrf v1".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
    }
  }
}
