package dev.funnel.registry;

import dev.funnel.common.auth.IdTokens;
import dev.funnel.common.options.OidcOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.auth.oauth2.OAuth2Auth;
import io.vertx.ext.auth.oauth2.OAuth2AuthorizationURL;
import io.vertx.ext.auth.oauth2.OAuth2FlowType;
import io.vertx.ext.auth.oauth2.OAuth2Options;
import io.vertx.ext.auth.oauth2.Oauth2Credentials;
import io.vertx.ext.auth.oauth2.providers.OpenIDConnectAuth;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.Session;
import io.vertx.ext.web.sstore.SessionStore;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * The console's optional OpenID Connect sign-in ({@code --console-oidc-issuer …}): the
 * authorisation-code flow with PKCE (S256), state and nonce, then an allow list of email addresses.
 *
 * <ul>
 *   <li>{@code GET /ui/oidc/sign-in} (a link: the CSP's {@code form-action 'self'} would stop a
 *       form's redirect to the provider; starting a sign-in changes nothing) keeps the flow (state, PKCE
 *       verifier, nonce, redirect URI) in a short-lived entry of the console's session store, whose
 *       random id goes to the browser in the {@value #FLOW_COOKIE} cookie ({@code Secure},
 *       {@code HttpOnly}, {@code SameSite=Lax} so it comes back on the provider's redirect, path
 *       {@value #CALLBACK}), and sends the browser to the provider.</li>
 *   <li>{@code GET} {@value #CALLBACK} takes that entry (once), checks the state, exchanges the code
 *       with the verifier through vertx-auth-oauth2 (signature, issuer, audience), checks the nonce and
 *       expiry ({@link IdTokens}) and the email against the allow list (an address the provider marked
 *       unverified never matches). Then the console session's id is regenerated and it is signed in,
 *       exactly as after the token. The answer is a page that moves on to {@code /ui/} by itself
 *       ({@code <meta http-equiv="refresh">}, no script): the console's own cookie is
 *       {@code SameSite=Strict}, so the browser sends it only on a navigation that starts on the
 *       console, not on the rest of a redirect chain that started at the provider.</li>
 * </ul>
 *
 * <p>Discovery never blocks an event loop and is retried in the background while the provider is
 * not up (1 s doubling to 30 s apart); meanwhile the button answers 503. Tokens from the provider are
 * not kept.
 */
final class ConsoleOidc {

  private static final Logger LOG = System.getLogger(ConsoleOidc.class.getName());

  static final String START = "/ui/oidc/sign-in";
  static final String CALLBACK = "/ui/oidc/callback";
  static final String FLOW_COOKIE = "funnel-console-oidc";
  static final long FLOW_TTL_MILLIS = 10 * 60_000L;
  static final long MAX_BACKOFF_MILLIS = 30_000;
  /** The session key holding the signed-in user's address (absent after a token sign-in). */
  static final String USER = "user";

  private final Vertx vertx;
  private final OidcOptions options;
  private final List<String> allowEmails;
  private final SessionStore sessions;
  private volatile OAuth2Auth provider;
  private volatile boolean closed;
  private long timer = -1;

  ConsoleOidc(Vertx vertx, OidcOptions options, List<String> allowEmails, SessionStore sessions) {
    this.vertx = vertx;
    this.options = options;
    this.allowEmails = allowEmails.stream().map(e -> e.trim().toLowerCase(Locale.ROOT)).toList();
    this.sessions = sessions;
  }

  /** Starts discovery in the background (never fails: a provider not up yet is retried). */
  void start() {
    discover(1);
  }

  void close() {
    closed = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    OAuth2Auth p = provider;
    if (p != null) {
      p.close();
    }
  }

  /**
   * Whether {@code email} may sign in: listed exactly (case-insensitive) or {@code *} listed, and not
   * marked unverified by the provider. Pure.
   */
  static boolean allowed(List<String> allowEmails, String email, boolean verified) {
    if (email == null || email.isBlank() || !verified) {
      return false;
    }
    String e = email.trim().toLowerCase(Locale.ROOT);
    return allowEmails.contains("*") || allowEmails.contains(e);
  }

  /** {@code GET /ui/oidc/sign-in}: to the provider. */
  void begin(RoutingContext ctx) {
    OAuth2Auth p = provider;
    if (p == null) {
      ctx.response().putHeader("Retry-After", "5");
      ConsoleRoutes.html(ctx, 503, ConsolePages.signIn(ConsoleRoutes.csrf(ctx),
          "The OpenID Connect provider is not reachable yet; try again in a few seconds, or use the admin token.", true));
      return;
    }
    String state = IdTokens.randomToken();
    String verifier = IdTokens.randomToken();
    String nonce = IdTokens.randomToken();
    String redirectUri = origin(ctx.request()) + CALLBACK;
    Session flow = sessions.createSession(FLOW_TTL_MILLIS);
    flow.put("oidc.state", state).put("oidc.verifier", verifier).put("oidc.nonce", nonce)
        .put("oidc.redirect", redirectUri);
    sessions.put(flow).onComplete(stored -> {
      if (stored.failed()) {
        ctx.fail(stored.cause());
        return;
      }
      ctx.response().addCookie(flowCookie(flow.id(), FLOW_TTL_MILLIS / 1000));
      String url = p.authorizeURL(new OAuth2AuthorizationURL()
          .setRedirectUri(redirectUri)
          .setScopes(options.scopes())
          .setState(state)
          .setCodeChallenge(IdTokens.challenge(verifier))
          .setCodeChallengeMethod("S256")
          .putAdditionalParameter("nonce", nonce));
      ConsoleRoutes.redirect(ctx, url);
    });
  }

  /** {@code GET /ui/oidc/callback}: the provider's answer. */
  void callback(RoutingContext ctx) {
    Cookie cookie = ctx.request().getCookie(FLOW_COOKIE);
    ctx.response().addCookie(flowCookie("", 0));
    if (cookie == null || cookie.getValue().isEmpty()) {
      refuse(ctx, 400, "no sign-in cookie (expired, or started in another browser)",
          "This sign-in was started too long ago or in another browser: start again.");
      return;
    }
    String flowId = cookie.getValue();
    sessions.get(flowId).compose(flow -> sessions.delete(flowId).map(flow)).onComplete(taken -> {
      if (taken.failed()) {
        ctx.fail(taken.cause());
        return;
      }
      Session flow = taken.result();
      String expected = flow == null ? null : flow.get("oidc.state");
      if (expected == null) {
        refuse(ctx, 400, "sign-in cookie unknown or used", "This sign-in expired or was already used: start again.");
        return;
      }
      String error = ctx.request().getParam("error");
      if (error != null) {
        refuse(ctx, 403, "the provider refused (" + error + ")", "The OpenID Connect provider refused the sign-in.");
        return;
      }
      String code = ctx.request().getParam("code");
      String state = ctx.request().getParam("state");
      if (code == null || state == null || !MessageDigest.isEqual(state.getBytes(StandardCharsets.UTF_8),
          expected.getBytes(StandardCharsets.UTF_8))) {
        refuse(ctx, 400, "missing code or a state that does not match",
            "The provider's answer does not belong to this sign-in: start again.");
        return;
      }
      exchange(ctx, code, flow);
    });
  }

  private void exchange(RoutingContext ctx, String code, Session flow) {
    OAuth2Auth p = provider;
    if (p == null) {
      refuse(ctx, 503, "provider not discovered", "The OpenID Connect provider is not reachable yet.");
      return;
    }
    p.authenticate(new Oauth2Credentials().setFlow(OAuth2FlowType.AUTH_CODE).setCode(code)
            .setRedirectUri(flow.get("oidc.redirect")).setCodeVerifier(flow.get("oidc.verifier")))
        .onFailure(e -> refuse(ctx, 502, "exchanging the code failed: " + e.getMessage(),
            "The OpenID Connect provider did not complete the sign-in."))
        .onSuccess(user -> {
          JsonObject idToken = user.attributes().getJsonObject("idToken");
          String problem = IdTokens.problem(idToken, flow.get("oidc.nonce"), options.clientId(), Instant.now());
          if (problem != null) {
            refuse(ctx, 502, "the ID token " + problem, "The OpenID Connect provider's answer could not be verified.");
            return;
          }
          String email = idToken.getValue("email") instanceof String e ? e : null;
          boolean verified = !Boolean.FALSE.equals(idToken.getValue("email_verified"));
          if (!allowed(allowEmails, email, verified)) {
            refuse(ctx, 403, "email not allowed", (email == null ? "The provider gave no email address"
                : email + (verified ? " is not allowed" : " is not verified by the provider, so it is not allowed"))
                + " to sign in to this console (--console-allow-email).");
            return;
          }
          Session session = ctx.session();
          session.regenerateId();
          session.put(ConsoleSignIn.SIGNED_IN, true);
          session.put(USER, email.trim().toLowerCase(Locale.ROOT));
          LOG.log(Level.INFO, "admin console: signed in through OpenID Connect from {0}", ctx.request().remoteAddress());
          ConsoleRoutes.html(ctx, 200, ConsolePages.signedIn());
        });
  }

  private void refuse(RoutingContext ctx, int status, String why, String message) {
    LOG.log(Level.INFO, "admin console OpenID Connect sign-in from {0}: {1}; rejecting", ctx.request().remoteAddress(), why);
    ConsoleRoutes.html(ctx, status, ConsolePages.signIn(ConsoleRoutes.csrf(ctx), message, true));
  }

  private void discover(int attempt) {
    if (closed || provider != null) {
      return;
    }
    vertx.executeBlocking(this::readSecret)
        .compose(secret -> OpenIDConnectAuth.discover(vertx, new OAuth2Options().setSite(options.issuer())
            .setClientId(options.clientId()).setClientSecret(secret)))
        .onSuccess(p -> {
          if (closed) {
            p.close();
            return;
          }
          p.missingKeyHandler(kid -> p.jWKSet().onFailure(e ->
              LOG.log(Level.WARNING, "admin console: refreshing the provider''s keys failed: {0}", e.getMessage())));
          provider = p;
          LOG.log(Level.INFO, "admin console: OpenID Connect provider {0} discovered", options.issuer());
        })
        .onFailure(e -> {
          if (closed) {
            return;
          }
          long delay = Math.min(MAX_BACKOFF_MILLIS, 1000L << Math.min(attempt - 1, 15));
          LOG.log(Level.WARNING, "admin console: OpenID Connect provider {0} not reachable yet ({1}); retrying in {2} s",
              options.issuer(), e.getMessage(), String.valueOf(delay / 1000));
          timer = vertx.setTimer(delay, t -> discover(attempt + 1));
        });
  }

  private String readSecret() throws java.io.IOException {
    if (options.secretFile() == null) {
      return null;
    }
    String secret = Files.readString(Path.of(options.secretFile())).lines().findFirst().orElse("").strip();
    if (secret.isEmpty()) {
      throw new java.io.IOException("--console-oidc-secret-file " + options.secretFile() + " is empty");
    }
    return secret;
  }

  private static Cookie flowCookie(String value, long maxAgeSeconds) {
    return Cookie.cookie(FLOW_COOKIE, value).setPath(CALLBACK).setSecure(true).setHttpOnly(true)
        .setSameSite(CookieSameSite.LAX).setMaxAge(maxAgeSeconds);
  }

  /**
   * Where the browser reached the console: the request's scheme (or {@code X-Forwarded-Proto} when
   * it says https or http: TLS in front of the admin listener) and its Host.
   */
  static String origin(HttpServerRequest request) {
    String forwarded = request.getHeader("X-Forwarded-Proto");
    String scheme = "https".equalsIgnoreCase(forwarded) || "http".equalsIgnoreCase(forwarded)
        ? forwarded.toLowerCase(Locale.ROOT) : request.scheme();
    HostAndPort a = request.authority();
    String host = a == null ? "localhost" : a.host();
    boolean defaultPort = a == null || a.port() <= 0 || (scheme.equals("https") && a.port() == 443)
        || (scheme.equals("http") && a.port() == 80);
    return scheme + "://" + host + (defaultPort ? "" : ":" + a.port());
  }
}
