package dev.funnel.registry;

import io.vertx.core.Future;
import io.vertx.core.http.Cookie;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.sstore.SessionStore;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * The console's sign-in: the admin token checked in constant time behind the REST API's
 * {@link AdminAuthGuard} (same limiter, same refusal counter); on success the session id is
 * regenerated and the session marked signed in (the browser holds only the random session id).
 * Pages need a signed-in session; the sessions held are bounded.
 */
final class ConsoleSignIn {

  private static final Logger LOG = System.getLogger(ConsoleSignIn.class.getName());

  /** The session cookie's name. */
  static final String SESSION_COOKIE = "funnel-console";
  /**
   * Sessions held at most (every visit to the sign-in page makes one, for its CSRF token; they end
   * after {@link ConsoleRoutes#SESSION_TIMEOUT_MILLIS} unused).
   */
  static final int MAX_SESSIONS = 10_000;
  static final String SIGNED_IN = "signedIn";

  private final AdminAuthGuard guard;
  private final Supplier<String> token;
  private final SessionStore sessions;
  private final int maxSessions;
  private final boolean oidc;

  ConsoleSignIn(AdminAuthGuard guard, Supplier<String> token, SessionStore sessions, int maxSessions, boolean oidc) {
    this.guard = guard;
    this.token = token;
    this.sessions = sessions;
    this.maxSessions = maxSessions;
    this.oidc = oidc;
  }

  /** The sign-in page (with the OpenID Connect button when configured). */
  Html page(RoutingContext ctx, String error) {
    return ConsolePages.signIn(ConsoleRoutes.csrf(ctx), error, oidc);
  }

  /**
   * While {@code maxSessions} ({@link #MAX_SESSIONS}) are held, only a request carrying a session the store holds goes
   * on (a missing or unknown session cookie would make a new one): the others get 503.
   */
  void boundSessions(RoutingContext ctx) {
    sessions.size().compose(size -> {
      if (size < maxSessions) {
        return Future.succeededFuture(true);
      }
      Cookie cookie = ctx.request().getCookie(SESSION_COOKIE);
      return cookie == null ? Future.succeededFuture(false) : sessions.get(cookie.getValue()).map(held -> held != null);
    }).onComplete(ok -> {
      if (ok.failed() || ok.result()) {
        ctx.next();
        return;
      }
      LOG.log(Level.INFO, "admin console: {0} sessions held; refusing a new one from {1}", maxSessions,
          ctx.request().remoteAddress());
      ctx.response().putHeader("Retry-After", "60");
      ConsoleRoutes.html(ctx, 503, ConsolePages.error(503, "Too many console sessions are open; try again in a minute."));
    });
  }

  void signIn(RoutingContext ctx) {
    OptionalLong wait = guard.blockedSeconds(ctx);
    if (wait.isPresent()) {
      ctx.response().putHeader("Retry-After", Long.toString(wait.getAsLong()));
      ConsoleRoutes.html(ctx, 429, page(ctx, "Too many wrong tokens from this address: try again in "
          + wait.getAsLong() + " s."));
      return;
    }
    String presented = ctx.request().getFormAttribute("token");
    presented = presented == null || presented.isBlank() ? null : presented.trim();
    if (!Secrets.constantTimeEquals(presented, token.get())) {
      LOG.log(Level.INFO, "admin console sign-in from {0}: {1}; rejecting", ctx.request().remoteAddress(),
          presented == null ? "no token" : "wrong token");
      guard.failed(ctx, presented == null);
      ConsoleRoutes.html(ctx, 401, page(ctx, presented == null ? "Enter the admin token."
          : "That is not the admin token of this server."));
      return;
    }
    Session session = ctx.session();
    session.regenerateId();
    session.put(SIGNED_IN, true);
    LOG.log(Level.INFO, "admin console: signed in from {0}", ctx.request().remoteAddress());
    ConsoleRoutes.redirect(ctx, "/ui/");
  }

  void requireSignIn(RoutingContext ctx) {
    Session session = ctx.session();
    if (session != null && Boolean.TRUE.equals(session.get(SIGNED_IN))) {
      ctx.next();
      return;
    }
    if (ctx.request().getHeader("HX-Request") != null) {
      // htmx follows this header: a page whose session ended goes to the sign-in page.
      ctx.response().setStatusCode(401).putHeader("HX-Redirect", "/ui/sign-in").end();
      return;
    }
    ConsoleRoutes.redirect(ctx, "/ui/sign-in");
  }
}
