package dev.funnel.terminator.auth;

import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.terminator.gate.GateChain;
import dev.funnel.terminator.gate.GateContext;
import dev.funnel.terminator.gate.GateFactory;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The {@link GateChain.Step#AUTH} factory: a route's {@code --auth} ({@code oidc}, {@code basic:FILE},
 * {@code bearer:FILE}) plus the node-wide login settings ({@code --allow-email}, {@code --allow-domain},
 * {@code --allow-group}, {@code --auth-skip}, the {@code --oidc-*} provider) make that route's {@link LoginGate}.
 *
 * <p>Node-wide state lives in the gate context's shared map, so every port, route, event loop and run-time
 * rebuild uses the same: the cookie key ({@link LoginKey}, read once on a worker thread) and one
 * {@link OidcLogin} (one discovery). Its callback and logout paths are mounted once on each port router
 * that has an {@code oidc} route. A route whose gate cannot be complete (oidc without a provider or an
 * allow list, an unreadable htpasswd or tokens file) fails the build: the route is not served without it.
 */
public final class LoginGates implements GateFactory {

  static final String SEALER = "funnel.login.sealer";
  static final String OIDC = "funnel.login.oidc";

  private final OidcOptions oidc;
  private final AuthOptions nodeWide;
  private final Path stateDir;

  public LoginGates(LoginSettings settings) {
    this.oidc = settings.oidc();
    this.nodeWide = settings.nodeWide();
    this.stateDir = settings.stateDir();
  }

  @Override
  public Future<Handler<RoutingContext>> create(GatePolicy policy, GateContext context) {
    AuthOptions route;
    try {
      route = AuthOptions.parse(policy.auth().toString()).merge(nodeWide);
      String problem = route.validate(oidc);
      if (problem != null) {
        throw new IllegalArgumentException(problem);
      }
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new IllegalArgumentException("port " + context.publicPort() + " "
          + context.routePath() + ": " + e.getMessage()));
    }
    Vertx vertx = context.vertx();
    String realm = context.serverNames().stream().sorted().findFirst().orElse("funnel");
    Consumer<String> decisions = outcome -> context.decisions().record(GateChain.Step.AUTH, outcome);
    if (!route.oidc()) {
      LoginGate gate = new LoginGate(vertx, route, null, realm, decisions);
      return gate.ready().<Handler<RoutingContext>>map(v -> gate);
    }
    @SuppressWarnings("unchecked")
    Future<SealedCookie> sealer = (Future<SealedCookie>) context.sharedState().computeIfAbsent(SEALER,
        k -> vertx.executeBlocking(() -> new SealedCookie(LoginKey.loadOrCreate(stateDir))));
    return sealer.compose(s -> {
      OidcLogin login = (OidcLogin) context.sharedState().computeIfAbsent(OIDC, k -> {
        OidcLogin l = new OidcLogin(vertx, oidc, s);
        l.start();
        return l;
      });
      mountOnce(context.router(), login);
      LoginGate gate = new LoginGate(vertx, route, login, realm, decisions);
      return gate.ready().<Handler<RoutingContext>>map(v -> gate);
    });
  }

  /** Adds the login's own paths to a port's router unless an earlier route of that port did. */
  static void mountOnce(Router router, OidcLogin login) {
    synchronized (router) {
      for (Route r : router.getRoutes()) {
        if (OidcLogin.CALLBACK_PATH.equals(r.getPath())) {
          return;
        }
      }
      login.mount(router);
    }
  }

  /**
   * Reads and parses an {@code --auth} rule's file as the gate will ({@link Htpasswd}, bcrypt only;
   * {@link BearerTokens}), so that a command can refuse a bad one before it starts anything. Throws
   * IllegalArgumentException naming the file, the line and what to do. Blocking.
   */
  public static void checkFile(dev.funnel.common.serve.GatePolicy.Auth auth) {
    if (auth == null || auth.file() == null) {
      return;
    }
    String file = auth.file().toString();
    java.util.List<String> lines;
    try {
      lines = java.nio.file.Files.readAllLines(auth.file(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage());
    }
    switch (auth.kind()) {
      case BASIC -> Htpasswd.parse(file, lines);
      case BEARER -> BearerTokens.parse(file, lines);
      default -> {
      }
    }
  }
}
