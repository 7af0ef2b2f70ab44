package dev.funnel.terminator.auth;

import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.ops.Meters;
import dev.funnel.common.options.AuthOptions;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;

/**
 * The login gate of one route: a {@code Handler<RoutingContext>} that calls {@code ctx.next()} for a
 * request that may pass, with {@value UserHeaders#EMAIL} and {@value UserHeaders#NAME} set on it, and
 * answers every other request itself.
 *
 * <p>Order: a skip path passes untouched; an {@code Authorization} header for a method this route has
 * ({@code Basic} with an htpasswd file, {@code Bearer} with a tokens file) passes or gets {@code 401};
 * with {@code oidc}, a valid session cookie passes if the route's allow list has the user ({@code 403}
 * with a short page otherwise), no cookie sends a {@code GET}/{@code HEAD} to the provider's login and
 * answers other methods {@code 401}. A route without {@code oidc} answers {@code 401} with its challenges.
 *
 * <p>Incoming copies of the user headers must already be gone when this runs ({@code ForwardedHeaders}
 * strips them as a request enters the port, gate or not). The htpasswd and tokens files are read once,
 * off the event loop, when the gate is built; bcrypt runs on a worker thread, the request paused meanwhile.
 * Decisions are counted in {@code funnel_node_gate_decisions_total{rule="auth",outcome}}, outcome one of
 * {@link #OUTCOMES} (never a user or an address).
 */
public final class LoginGate implements Handler<RoutingContext> {

  private static final System.Logger LOG = System.getLogger(LoginGate.class.getName());
  static final String METER = "funnel.node.gate.decisions";
  /** Every outcome a decision is counted under: a bounded label. */
  public static final List<String> OUTCOMES = List.of("oidc-allowed", "oidc-denied", "basic-allowed", "basic-denied",
      "bearer-allowed", "bearer-denied", "login", "unauthenticated", "skipped", "error");

  private record LoadedFiles(Htpasswd htpasswd, BearerTokens tokens) {
  }

  private final Vertx vertx;
  private final AuthOptions options;
  private final OidcLogin oidc;
  private final String realm;
  private final Future<LoadedFiles> files;
  private final Consumer<String> decisions;
  /** Refused requests are tallied each; their lines are bounded (anyone can send a request without credentials). */
  private final LogLimit refusals = new LogLimit();

  /**
   * @param oidc  the node's OpenID Connect login; required when {@code options.oidc()}, else may be null
   * @param realm shown in basic auth's challenge (the node's name)
   */
  public LoginGate(Vertx vertx, AuthOptions options, OidcLogin oidc, String realm) {
    this(vertx, options, oidc, realm, meteredDecisions());
  }

  /**
   * @param decisions counts each decision by outcome, one of {@link #OUTCOMES} (the caller's rule label is
   *                  {@code auth})
   */
  public LoginGate(Vertx vertx, AuthOptions options, OidcLogin oidc, String realm, Consumer<String> decisions) {
    if (options.oidc() && oidc == null) {
      throw new IllegalArgumentException("an oidc route needs the node's OidcLogin");
    }
    this.vertx = vertx;
    this.options = options;
    this.oidc = options.oidc() ? oidc : null;
    this.realm = realm.replace("\"", "");
    this.decisions = decisions;
    this.files = vertx.executeBlocking(() -> new LoadedFiles(
        options.htpasswdFile() == null ? null : Htpasswd.parse(options.htpasswdFile(), lines(options.htpasswdFile())),
        options.tokensFile() == null ? null : BearerTokens.parse(options.tokensFile(), lines(options.tokensFile()))));
  }

  /** Completes once the route's files are read; failed when they cannot be, and then the route is not served (the change or the start is refused with why). */
  public Future<Void> ready() {
    return files.mapEmpty();
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (skipped(ctx.normalizedPath())) {
      count("skipped");
      ctx.next();
      return;
    }
    String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (authorization != null && options.htpasswdFile() != null && scheme(authorization, "Basic")) {
      basic(ctx, authorization.substring(6).trim());
      return;
    }
    if (authorization != null && options.tokensFile() != null && scheme(authorization, "Bearer")) {
      bearer(ctx, authorization.substring(7).trim());
      return;
    }
    if (oidc != null) {
      Optional<LoginUser> user = oidc.user(ctx);
      if (user.isPresent()) {
        Optional<String> rule = AllowList.match(options, user.get());
        if (rule.isPresent()) {
          count("oidc-allowed");
          pass(ctx, user.get());
        } else {
          count("oidc-denied");
          refusals.log(LOG, Level.INFO, "refusals",
              () -> "login gate: a signed-in user is not on this route's allow list; rejecting with 403");
          String who = user.get().email() != null ? user.get().email() : user.get().name();
          Pages.html(ctx.response(), 403, "Not allowed",
              Pages.escape(who) + " is signed in but may not use this page. <a href=\""
                  + OidcLogin.LOGOUT_PATH + "\">Sign out</a> to use another account.");
        }
        return;
      }
      if (request.method() == HttpMethod.GET || request.method() == HttpMethod.HEAD) {
        count("login");
        oidc.login(ctx);
        return;
      }
    }
    count("unauthenticated");
    refusals.log(LOG, Level.INFO, "refusals",
        () -> "login gate: " + request.method() + " request without credentials; rejecting with 401");
    unauthorized(ctx);
  }

  private void basic(RoutingContext ctx, String encoded) {
    String user;
    String password;
    try {
      String decoded = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("no colon");
      }
      user = decoded.substring(0, colon);
      password = decoded.substring(colon + 1);
    } catch (IllegalArgumentException e) {
      count("basic-denied");
      refusals.log(LOG, Level.INFO, "refusals", () -> "login gate: malformed basic credentials; rejecting with 401");
      unauthorized(ctx);
      return;
    }
    paused(ctx, files.compose(f -> vertx.executeBlocking(() -> f.htpasswd().verify(user, password), false)),
        ok -> {
          if (ok) {
            count("basic-allowed");
            pass(ctx, new LoginUser("basic", user.contains("@") ? user : null, true, user, List.of()));
          } else {
            count("basic-denied");
            refusals.log(LOG, Level.INFO, "refusals",
                () -> "login gate: basic credentials do not match the htpasswd file; rejecting with 401");
            unauthorized(ctx);
          }
        });
  }

  private void bearer(RoutingContext ctx, String token) {
    paused(ctx, files.map(f -> f.tokens().match(token)), name -> {
      if (name.isPresent()) {
        count("bearer-allowed");
        pass(ctx, new LoginUser("bearer", null, true, name.get(), List.of()));
      } else {
        count("bearer-denied");
        refusals.log(LOG, Level.INFO, "refusals",
            () -> "login gate: bearer token not in the tokens file; rejecting with 401");
        unauthorized(ctx);
      }
    });
  }

  /**
   * Runs {@code then} once {@code work} is done, the request paused meanwhile: its body stays unread for
   * the route's target, which resumes it (vertx-http-proxy pipes it on); a refusal resumes it itself.
   */
  private <T> void paused(RoutingContext ctx, Future<T> work, Handler<T> then) {
    HttpServerRequest request = ctx.request();
    if (!request.isEnded()) {
      request.pause();
    }
    work.onComplete(ar -> {
      if (ar.succeeded()) {
        then.handle(ar.result());
      } else {
        count("error");
        drain(ctx);
        ctx.response().putHeader(HttpHeaders.RETRY_AFTER, "30");
        Pages.html(ctx.response(), 503, "Sign-in is not available",
            "This page's login is misconfigured on the node; its operator can see why in the node's log.");
      }
    });
  }

  private void pass(RoutingContext ctx, LoginUser user) {
    MultiMap headers = ctx.request().headers();
    UserHeaders.removeFrom(headers);
    if (user.email() != null) {
      headers.set(UserHeaders.EMAIL, UserHeaders.headerValue(user.email()));
    }
    if (user.name() != null) {
      headers.set(UserHeaders.NAME, UserHeaders.headerValue(user.name()));
    }
    ctx.next();
  }

  /** Lets an unread body go (discarded) once this gate has answered, so the connection is not stalled. */
  private static void drain(RoutingContext ctx) {
    if (!ctx.request().isEnded()) {
      ctx.request().resume();
    }
  }

  private void unauthorized(RoutingContext ctx) {
    drain(ctx);
    List<String> challenges = new ArrayList<>();
    if (options.htpasswdFile() != null) {
      challenges.add("Basic realm=\"" + realm + "\", charset=\"UTF-8\"");
    }
    if (options.tokensFile() != null) {
      challenges.add("Bearer realm=\"" + realm + "\"");
    }
    for (String c : challenges) {
      ctx.response().headers().add("WWW-Authenticate", c);
    }
    String how = oidc != null ? "<a href=\"/\">Sign in</a> first." : "This page needs credentials.";
    Pages.html(ctx.response(), 401, "Sign-in required", how);
  }

  /** True when {@code path} (normalised) is under a skip prefix, at a segment boundary. */
  boolean skipped(String path) {
    for (String prefix : options.skipPaths()) {
      if (underPrefix(path, prefix)) {
        return true;
      }
    }
    return false;
  }

  static boolean underPrefix(String path, String prefix) {
    if (path == null) {
      return false;
    }
    if (prefix.endsWith("/")) {
      return path.startsWith(prefix) || path.equals(prefix.substring(0, prefix.length() - 1));
    }
    return path.equals(prefix) || path.startsWith(prefix + "/");
  }

  private static boolean scheme(String authorization, String scheme) {
    return authorization.length() > scheme.length()
        && authorization.regionMatches(true, 0, scheme, 0, scheme.length())
        && authorization.charAt(scheme.length()) == ' ';
  }

  private void count(String outcome) {
    decisions.accept(outcome);
  }

  /**
   * Counts into {@code funnel_node_gate_decisions_total{rule="auth",outcome}} on Vert.x's registry (a
   * private one when metrics are off); for a gate built outside a gate chain that counts for it.
   */
  public static Consumer<String> meteredDecisions() {
    MeterRegistry registry = Meters.registry();
    ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();
    return outcome -> counters.computeIfAbsent(outcome, o -> Counter.builder(METER)
        .description("Gate decisions on the node, by rule and outcome")
        .tag("rule", "auth").tag("outcome", o).register(registry)).increment();
  }

  private static List<String> lines(String file) throws java.io.IOException {
    return Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
  }
}
