package dev.funnel.terminator.auth;

import dev.funnel.common.auth.IdTokens;
import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.options.OidcOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import io.vertx.ext.auth.oauth2.OAuth2Auth;
import io.vertx.ext.auth.oauth2.OAuth2AuthorizationURL;
import io.vertx.ext.auth.oauth2.OAuth2FlowType;
import io.vertx.ext.auth.oauth2.OAuth2Options;
import io.vertx.ext.auth.oauth2.Oauth2Credentials;
import io.vertx.ext.auth.oauth2.providers.OpenIDConnectAuth;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The node's OpenID Connect login (one per node, shared by every route with {@code oidc}): issuer
 * discovery, the authorisation-code flow with PKCE (S256), state and nonce, and the sealed session cookie.
 *
 * <ul>
 *   <li>{@link #login} sends a browser to the provider: a sealed, 10-minute {@value #FLOW_COOKIE} cookie
 *       holds the state, the PKCE verifier, the nonce and the page to come back to.</li>
 *   <li>{@value #CALLBACK_PATH} (see {@link #mount}) opens that cookie, checks the state, exchanges the code
 *       (with the verifier) through vertx-auth-oauth2, which checks the ID token's signature (the provider's
 *       JWKs), issuer and audience; then the nonce and expiry are checked here, and a sealed
 *       {@value #SESSION_COOKIE} cookie ({@code Secure}, {@code HttpOnly}, {@code SameSite=Lax}, bound to
 *       the node name asked for, expiring with {@link OidcOptions#sessionTtl()}) holds the user.</li>
 *   <li>{@value #LOGOUT_PATH} clears it.</li>
 * </ul>
 *
 * <p>Stateless: the node keeps no session store; a restart keeps logins (the key is in the state directory).
 * Discovery never blocks an event loop and is retried while the provider is not up yet: {@value #BACKGROUND_ATTEMPTS}
 * attempts in the background (1 s doubling to 30 s apart), then again whenever a login needs the provider,
 * at most every 30 s. Until then a login answers {@code 503} with {@code Retry-After}.
 */
public final class OidcLogin {

  public static final String CALLBACK_PATH = "/.funnel/oidc/callback";
  public static final String LOGOUT_PATH = "/.funnel/logout";
  static final String SESSION_COOKIE = "__Host-funnel-login";
  static final String FLOW_COOKIE = "__Host-funnel-oidc";
  static final String SESSION = "session";
  static final String FLOW = "flow";
  static final Duration FLOW_TTL = Duration.ofMinutes(10);
  static final int BACKGROUND_ATTEMPTS = 12;
  static final long MAX_BACKOFF_MILLIS = 30_000;
  /** Clock skew allowed on the ID token's {@code exp}. */
  static final long LEEWAY_SECONDS = IdTokens.LEEWAY_SECONDS;
  /** The longest session cookie value made (browsers keep about 4 KiB per cookie, name and attributes included). */
  static final int MAX_COOKIE_CHARS = 3800;

  private static final System.Logger LOG = System.getLogger(OidcLogin.class.getName());

  private final Vertx vertx;
  private final OidcOptions options;
  private final SealedCookie cookies;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final AtomicBoolean discovering = new AtomicBoolean();
  /** Callbacks anyone can send: their refusals' lines are bounded. */
  private final LogLimit refusals = new LogLimit();
  private volatile OAuth2Auth provider;
  private volatile long lastAttemptMillis;
  private volatile long timerId = -1;
  private volatile boolean closed;

  public OidcLogin(Vertx vertx, OidcOptions options, SealedCookie cookies) {
    this(vertx, options, cookies, Clock.systemUTC());
  }

  OidcLogin(Vertx vertx, OidcOptions options, SealedCookie cookies, Clock clock) {
    this.vertx = vertx;
    this.options = options;
    this.cookies = cookies;
    this.clock = clock;
  }

  public OidcOptions options() {
    return options;
  }

  /** Starts discovery in the background; the future completes with the first attempt (failed: retrying). */
  public Future<Void> start() {
    return attempt(1);
  }

  /** True once the provider has been discovered. */
  public boolean ready() {
    return provider != null;
  }

  public void close() {
    closed = true;
    long id = timerId;
    if (id >= 0) {
      vertx.cancelTimer(id);
    }
    OAuth2Auth p = provider;
    if (p != null) {
      p.close();
    }
  }

  /** Adds {@value #CALLBACK_PATH} and {@value #LOGOUT_PATH} to a port's router (before its per-path routes). */
  public void mount(Router router) {
    router.get(CALLBACK_PATH).handler(this::callback);
    router.route(LOGOUT_PATH).handler(this::logout);
  }

  /** The signed-in user of this request's session cookie, if it opens for the request's host and has not expired. */
  Optional<LoginUser> user(RoutingContext ctx) {
    Cookie cookie = ctx.request().getCookie(SESSION_COOKIE);
    if (cookie == null) {
      return Optional.empty();
    }
    return cookies.open(cookie.getValue(), SESSION, host(ctx.request()), clock.instant())
        .map(LoginUser::fromClaims);
  }

  /** Sends the browser to the provider's login, to come back to this request's path. */
  void login(RoutingContext ctx) {
    OAuth2Auth p = provider;
    if (p == null) {
      retryIfDue();
      ctx.response().putHeader(HttpHeaders.RETRY_AFTER, "5");
      Pages.html(ctx.response(), 503, "Sign-in is not available yet",
          "The login provider is not reachable yet. Try again in a few seconds.");
      return;
    }
    HttpServerRequest request = ctx.request();
    String verifier = randomToken();
    String state = randomToken();
    String nonce = randomToken();
    String redirectUri = "https://" + authority(request) + CALLBACK_PATH;
    String back = request.uri().startsWith("/") && !request.uri().startsWith("//") ? request.uri() : "/";
    JsonObject flow = new JsonObject().put("s", state).put("v", verifier).put("n", nonce).put("r", redirectUri)
        .put("b", back);
    Instant now = clock.instant();
    ctx.response().addCookie(cookie(FLOW_COOKIE, cookies.seal(flow, FLOW, host(request), now.plus(FLOW_TTL)), FLOW_TTL));
    String url = p.authorizeURL(new OAuth2AuthorizationURL()
        .setRedirectUri(redirectUri)
        .setScopes(options.scopes())
        .setState(state)
        .setCodeChallenge(challenge(verifier))
        .setCodeChallengeMethod("S256")
        .putAdditionalParameter("nonce", nonce));
    Pages.redirect(ctx.response(), url);
  }

  private void callback(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String host = host(request);
    Cookie flowCookie = request.getCookie(FLOW_COOKIE);
    Optional<JsonObject> opened = flowCookie == null ? Optional.empty()
        : cookies.open(flowCookie.getValue(), FLOW, host, clock.instant());
    if (opened.isEmpty()) {
      refusals.log(LOG, Level.INFO, "refusals",
          () -> "login callback without a valid sign-in cookie (expired, tampered or another browser); rejecting");
      Pages.html(ctx.response(), 400, "Sign-in expired",
          "This sign-in was started too long ago or in another browser. <a href=\"/\">Start again</a>.");
      return;
    }
    JsonObject flow = opened.get();
    ctx.response().addCookie(cleared(FLOW_COOKIE));
    String error = request.getParam("error");
    if (error != null) {
      refusals.log(LOG, Level.INFO, "refusals", () -> "login provider refused the sign-in (" + error + "); rejecting");
      Pages.html(ctx.response(), 403, "Sign-in refused",
          "The login provider refused the sign-in: " + Pages.escape(error) + ". <a href=\"/\">Start again</a>.");
      return;
    }
    String code = request.getParam("code");
    String state = request.getParam("state");
    if (code == null || state == null || !MessageDigest.isEqual(state.getBytes(StandardCharsets.UTF_8),
        flow.getString("s", "").getBytes(StandardCharsets.UTF_8))) {
      refusals.log(LOG, Level.INFO, "refusals",
          () -> "login callback with a missing code or a state that does not match; rejecting");
      Pages.html(ctx.response(), 400, "Sign-in failed",
          "The answer from the login provider does not belong to this sign-in. <a href=\"/\">Start again</a>.");
      return;
    }
    OAuth2Auth p = provider;
    if (p == null) {
      Pages.html(ctx.response(), 503, "Sign-in is not available yet", "The login provider is not reachable yet.");
      return;
    }
    p.authenticate(new Oauth2Credentials()
            .setFlow(OAuth2FlowType.AUTH_CODE)
            .setCode(code)
            .setRedirectUri(flow.getString("r"))
            .setCodeVerifier(flow.getString("v")))
        .onSuccess(user -> {
          JsonObject idToken = user.attributes().getJsonObject("idToken");
          String problem = checkIdToken(idToken, flow.getString("n"), options.clientId(), clock.instant());
          if (problem != null) {
            LOG.log(Level.WARNING, "login: the provider''s ID token {0}; rejecting", problem);
            Pages.html(ctx.response(), 502, "Sign-in failed",
                "The login provider's answer could not be verified. <a href=\"/\">Start again</a>.");
            return;
          }
          LoginUser loginUser = LoginUser.fromIdToken(idToken);
          Duration ttl = options.sessionTtl();
          ctx.response().addCookie(cookie(SESSION_COOKIE, sealSession(loginUser, host, ttl), ttl));
          LOG.log(Level.INFO, "login: signed in through the provider");
          Pages.redirect(ctx.response(), flow.getString("b", "/"));
        })
        .onFailure(failure -> {
          LOG.log(Level.WARNING, "login: exchanging the code at the provider failed: {0}; rejecting", failure.getMessage());
          Pages.html(ctx.response(), 502, "Sign-in failed",
              "The login provider did not complete the sign-in. <a href=\"/\">Start again</a>.");
        });
  }

  /**
   * The session cookie's value, at most {@link #MAX_COOKIE_CHARS}: a browser silently drops a bigger
   * cookie, which would send the user round the login again and again. Groups go first, from the end.
   */
  String sealSession(LoginUser user, String host, Duration ttl) {
    Instant expires = clock.instant().plus(ttl);
    LoginUser u = user;
    String value = cookies.seal(u.toClaims(), SESSION, host, expires);
    while (value.length() > MAX_COOKIE_CHARS && !u.groups().isEmpty()) {
      u = new LoginUser(u.method(), u.email(), u.emailVerified(), u.name(), u.groups().subList(0, u.groups().size() - 1));
      value = cookies.seal(u.toClaims(), SESSION, host, expires);
    }
    if (u != user) {
      LOG.log(Level.WARNING, "login: kept {0} of the user''s {1} groups to fit the session cookie",
          String.valueOf(u.groups().size()), String.valueOf(user.groups().size()));
    }
    return value;
  }

  private void logout(RoutingContext ctx) {
    ctx.response().addCookie(cleared(SESSION_COOKIE));
    Pages.html(ctx.response(), 200, "Signed out", "You are signed out. <a href=\"/\">Sign in again</a>.");
  }

  /**
   * Why a verified ID token is still refused here, or {@code null}: vertx-auth-oauth2 drops a token whose
   * signature, issuer or audience is wrong (no {@code idToken} at all), but neither requires an audience
   * nor checks the nonce or the expiry.
   */
  static String checkIdToken(JsonObject idToken, String nonce, String clientId, Instant now) {
    return IdTokens.problem(idToken, nonce, clientId, now);
  }

  private Future<Void> attempt(int n) {
    if (closed || provider != null || !discovering.compareAndSet(false, true)) {
      return Future.succeededFuture();
    }
    lastAttemptMillis = System.currentTimeMillis();
    return vertx.executeBlocking(this::readSecret)
        .compose(secret -> OpenIDConnectAuth.discover(vertx, new OAuth2Options()
            .setSite(options.issuer())
            .setClientId(options.clientId())
            .setClientSecret(secret)))
        .andThen(done -> discovering.set(false))
        .onSuccess(p -> {
          if (closed) {
            p.close();
            return;
          }
          p.missingKeyHandler(kid -> p.jWKSet().onFailure(e ->
              LOG.log(Level.WARNING, "login: refreshing the provider''s keys failed: {0}", e.getMessage())));
          provider = p;
          LOG.log(Level.INFO, "login: OpenID Connect provider {0} discovered", options.issuer());
        })
        .recover(failure -> {
          if (closed) {
            return Future.failedFuture(failure);
          }
          if (n < BACKGROUND_ATTEMPTS) {
            long delay = Math.min(MAX_BACKOFF_MILLIS, 1000L << Math.min(n - 1, 15));
            LOG.log(Level.WARNING, "login: OpenID Connect provider {0} not reachable yet ({1}); retrying in {2} s",
                options.issuer(), failure.getMessage(), String.valueOf(delay / 1000));
            timerId = vertx.setTimer(delay, t -> attempt(n + 1));
          } else {
            LOG.log(Level.WARNING, "login: OpenID Connect provider {0} not reachable ({1}); retrying when a sign-in needs it",
                options.issuer(), failure.getMessage());
          }
          return Future.failedFuture(failure);
        })
        .mapEmpty();
  }

  private void retryIfDue() {
    if (System.currentTimeMillis() - lastAttemptMillis >= MAX_BACKOFF_MILLIS) {
      attempt(BACKGROUND_ATTEMPTS);
    }
  }

  private String readSecret() throws java.io.IOException {
    if (options.secretFile() == null) {
      return null;
    }
    String secret = Files.readString(Path.of(options.secretFile())).lines().findFirst().orElse("").strip();
    if (secret.isEmpty()) {
      throw new java.io.IOException("--oidc-secret-file " + options.secretFile() + " is empty");
    }
    return secret;
  }

  private static Cookie cookie(String name, String value, Duration ttl) {
    return Cookie.cookie(name, value).setPath("/").setSecure(true).setHttpOnly(true)
        .setSameSite(CookieSameSite.LAX).setMaxAge(ttl.toSeconds());
  }

  private static Cookie cleared(String name) {
    return cookie(name, "", Duration.ZERO);
  }

  /** The node name the request is for, as cookies are bound to it: lower case, no port, no trailing dot. */
  static String host(HttpServerRequest request) {
    HostAndPort authority = request.authority();
    String host = authority == null || authority.host() == null ? "" : authority.host().toLowerCase(Locale.ROOT);
    return host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
  }

  private static String authority(HttpServerRequest request) {
    HostAndPort a = request.authority();
    String host = host(request);
    return a != null && a.port() > 0 && a.port() != 443 ? host + ":" + a.port() : host;
  }

  private String randomToken() {
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static String challenge(String verifier) {
    return IdTokens.challenge(verifier);
  }

}
