package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import dev.funnel.node.LocalTargetCheck;
import dev.funnel.node.NodeAgentVerticle;
import dev.funnel.node.acme.AcmeSettings;
import dev.funnel.node.acme.AcmeVerticle;
import dev.funnel.terminator.auth.LoginSettings;
import dev.funnel.terminator.gate.GateChain;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The device side: the node agent and, when a funnelled port's target terminates TLS, the
 * tls-terminator. Order matters: the session comes up with the pass-through ports only; then the
 * node's certificate is loaded or signed for the name the session gave; then the terminator binds;
 * only then are the terminated ports announced, so no offer reaches a terminator that is not there.
 * Blocking: call from main.
 *
 * <p>While it runs, {@link NodeControl} (what {@code funnel node serve …} talks to) changes what it
 * funnels through {@link #putRoute}, {@link #putPolicy} and {@link #remove}, in the same order: an
 * HTTP port the terminator already serves gets its routes swapped in place ({@code
 * TerminatorVerticle.updateRoutes}: next request, no connection dropped); a port that needs a new
 * listener (first served, or a changed {@code tls-terminated-tcp://} target) gets a terminator of its
 * own (and the certificate, if the node had none yet): {@link NodeTerminators}; then the agent's
 * serve config is replaced ({@code NodeAgentVerticle.updateServe}: the node refuses a removed port at
 * once and the registry withdraws its route when the gateway passes the update on). Run-time changes
 * last until the node stops; the command line is the configuration. Which certificate the
 * terminators present, and its renewals: {@link TerminatorCertificates}.
 */
final class NodeStack implements ServeControl {

  private static final System.Logger LOG = System.getLogger(NodeStack.class.getName());

  /** Bound on one serve change as a whole (certificate, terminator, the gateway's confirmation). */
  static final long SERVE_CHANGE_TIMEOUT_MILLIS = 30_000;
  /** How often the certificate's expiry is read again (files renewed by another tool); sent to the gateways only when it changed. */
  static final long CERTIFICATE_REPORT_MILLIS = TimeUnit.MINUTES.toMillis(10);

  record Settings(List<HostPort> servers, int sessions, String authKey, String hostname, Path ca, Path state,
                  ServeConfig serve, int proxyProtocol, Path cert, Path key, HostPort metricsListen,
                  int links, LoginSettings login, AcmeSettings acme, List<String> domainAliases) {

    public Settings {
      domainAliases = domainAliases == null ? List.of() : List.copyOf(domainAliases);
    }

    /** Without custom domains. */
    Settings(List<HostPort> servers, int sessions, String authKey, String hostname, Path ca, Path state,
             ServeConfig serve, int proxyProtocol, Path cert, Path key, HostPort metricsListen,
             int links, LoginSettings login, AcmeSettings acme) {
      this(servers, sessions, authKey, hostname, ca, state, serve, proxyProtocol, cert, key, metricsListen, links,
          login, acme, List.of());
    }

    /** Without login or ACME settings: {@code --auth …=oidc} routes are refused, basic and bearer work. */
    Settings(List<HostPort> servers, int sessions, String authKey, String hostname, Path ca, Path state,
             ServeConfig serve, int proxyProtocol, Path cert, Path key, HostPort metricsListen,
             int links) {
      this(servers, sessions, authKey, hostname, ca, state, serve, proxyProtocol, cert, key, metricsListen, links,
          LoginSettings.none(state), null);
    }
  }

  /** Each route's gate handlers, the login gate with this node's settings. */
  private static GateChain gates(Settings settings) {
    return GateChain.standard(settings.login() != null ? settings.login() : LoginSettings.none(settings.state()));
  }

  private final Vertx vertx;
  private final Settings settings;
  private final NodeAgentVerticle agent;
  private final NodeTerminators terminators;
  private final TerminatorCertificates certificates;
  /** What the node funnels now; replaced under this by each serve change. */
  private volatile ServeConfig serve;
  /** The name the last session that was up had ({@link #fqdn}). */
  private volatile String lastFqdn;
  private NodeControl control;
  private dev.funnel.node.PublicPathProbe prober;
  /** Local targets that did not accept a connection at the start → why (the ready line says so). */
  private Map<ServeTarget, String> notAnswering = Map.of();

  private NodeStack(Vertx vertx, Settings settings, NodeAgentVerticle agent, NodeTerminators terminators) {
    this.vertx = vertx;
    this.settings = settings;
    this.agent = agent;
    this.terminators = terminators;
    this.certificates = new TerminatorCertificates(vertx, settings, agent, terminators);
    this.serve = settings.serve();
  }

  static NodeStack start(Vertx vertx, Settings settings) {
    if (!Files.isReadable(settings.ca())) {
      throw new IllegalArgumentException("cannot read the CA file " + settings.ca()
          + " (--ca: the server's ca.pem, e.g. .funnel/ca.pem)");
    }
    if ((settings.cert() == null) != (settings.key() == null)) {
      throw new IllegalArgumentException("--cert and --key go together");
    }
    Map<Integer, ServeTarget> passThrough = new LinkedHashMap<>();
    Map<Integer, ServePort> terminated = new LinkedHashMap<>();
    settings.serve().ports().forEach((port, p) -> {
      if (p.agentTarget().kind().terminatesTls()) {
        terminated.put(port, p);
      } else {
        passThrough.put(port, p.agentTarget());
      }
    });

    NodeOptions options = new NodeOptions()
        .setServers(settings.servers())
        .setSessions(settings.sessions())
        .setAuthKey(settings.authKey())
        .setHostname(settings.hostname())
        .setDomainAliases(settings.domainAliases())
        .setTrust(new PemTrustOptions().addCertPath(settings.ca().toString()))
        .setStateDir(settings.state())
        .setServe(passThrough)
        .setProxyProtocol(settings.proxyProtocol())
        .setLinks(settings.links());
    NodeAgentVerticle agent = new NodeAgentVerticle(options);
    agent.updateTcpRules(settings.serve().streamPolicies());   // CIDR and connection rate on tcp:// ports
    // The ops endpoint first: /ready answers 503 until the session is up and every listener bound,
    // and again whenever the session is down (the agent reconnects meanwhile).
    AtomicBoolean started = new AtomicBoolean();
    if (settings.metricsListen() != null) {
      OpsVerticle ops = new OpsVerticle(settings.metricsListen())
          .ready("listeners", started::get)
          .ready("session", () -> agent.fqdn().isPresent());
      vertx.deployVerticle(ops).await();
    }
    vertx.deployVerticle(agent).await();
    String fqdn = agent.fqdn().orElseThrow();

    NodeTerminators terminators = new NodeTerminators(vertx, options, terminatorSocketDir(settings), gates(settings));
    if (!terminated.isEmpty()) {
      terminators.start(terminated, TerminatorCertificates.initial(agent, settings, fqdn), fqdn);
      agent.updateServe(settings.serve().agentTargets()).await();
    }

    NodeStack stack = new NodeStack(vertx, settings, agent, terminators);
    TerminatorCertificates certificates = stack.certificates;
    certificates.report();
    // Certificate files may be replaced behind the node's back (--cert/--key renewed by another tool).
    vertx.setPeriodic(CERTIFICATE_REPORT_MILLIS, id -> vertx.executeBlocking(() -> {
      certificates.report();
      return null;
    }, false));
    if (settings.acme() != null) {
      // In the background: the node serves meanwhile (with the certificate it had, or the server CA's).
      AcmeVerticle acme = new AcmeVerticle(settings.acme(), agent, fqdn, certificates::issued);
      certificates.acme(acme);
      vertx.deployVerticle(acme).await();
    }
    agent.aliases().onVerifiedChange(certificates::aliasesVerified);
    if (!agent.aliases().verified().isEmpty()) {
      certificates.aliasesVerified(agent.aliases().verified());   // heard before the listener was added
    }
    stack.control = new NodeControl(settings.state(), stack);
    vertx.deployVerticle(stack.control).await();
    stack.notAnswering = stack.checkTargets(settings.serve(), Set.of());
    started.set(true);
    return stack;
  }

  /**
   * The first step of the node's clean stop: its sessions end (no new tunnel comes), the
   * terminators end each HTTP connection once its request is answered, and the tunnels running get
   * up to {@code seconds} to end (NodeAgentVerticle.drain); completes with how many were still open.
   */
  Future<Integer> drain(long seconds) {
    Future<Integer> tunnels = agent.drain(seconds * 1000);
    terminators.shutdown(seconds * 1000);
    return tunnels;
  }

  // ---------------------------------------------------------------- status

  @Override
  public Map<String, Map<String, Long>> decisions() {
    Map<String, Map<String, Long>> out = terminators.gateTallies();
    agent.tcpGates().forEach((port, gate) -> out.put(port + " /", gate.tallies()));
    out.values().removeIf(Map::isEmpty);
    return out;
  }

  @Override
  public Map<Integer, String> refused() {
    return agent.refusedPorts();
  }

  @Override
  public io.vertx.core.json.JsonObject status(boolean probe) {
    synchronized (this) {
      if (prober == null) {
        prober = new dev.funnel.node.PublicPathProbe(vertx, agent);
      }
    }
    return NodeStatus.build(agent, prober, fqdn(), serve, terminators.certFile(), probe);
  }

  /** Orders a new ACME certificate now and waits for it (funnel cert --renew). Blocking. */
  @Override
  public String renewCertificate() {
    return certificates.renew();
  }

  // ---------------------------------------------------------------- run-time serve changes

  @Override
  public ServeConfig serve() {
    return serve;
  }

  @Override
  public synchronized ServeConfig putRoute(int port, ServeRoute route) {
    ServeConfig next = valid(() -> serve.withRoute(port, route));
    return change(port, next, "funnelling " + port + route.path() + " → " + route.target());
  }

  @Override
  public synchronized ServeConfig putPolicy(int port, String path, GatePolicy policy) {
    ServePort p = serve.port(port).orElseThrow(() ->
        new ServeControl.Failure(404, "NOT_FUNNELLED", "this node does not funnel port " + port));
    ServeConfig next;
    if (path == null) {
      next = valid(() -> serve.with(p.withPolicy(policy)));
    } else {
      ServeRoute route = p.route(path).orElseThrow(() ->
          new ServeControl.Failure(404, "NOT_FUNNELLED", "port " + port + " has no route " + path));
      next = valid(() -> serve.with(p.withRoute(route.withPolicy(policy))));
    }
    return change(port, next, "gate of " + port + (path == null ? "" : path) + " now " + policy.describe());
  }

  @Override
  public synchronized ServeConfig remove(int port, String path) {
    ServePort p = serve.port(port).orElseThrow(() ->
        new ServeControl.Failure(404, "NOT_FUNNELLED", "this node does not funnel port " + port));
    if (path == null) {
      return apply(serve.withoutPort(port), "no longer funnelling " + port);
    }
    if (p.route(path).isEmpty()) {
      throw new ServeControl.Failure(404, "NOT_FUNNELLED", "port " + port + " has no route " + path);
    }
    return change(port, serve.withoutRoute(port, path), "no longer funnelling " + port + path);
  }

  /** Builds a config; a broken invariant (a tcp:// route beside paths…) becomes a 400. */
  private static ServeConfig valid(java.util.function.Supplier<ServeConfig> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      throw new ServeControl.Failure(400, "BAD_REQUEST", e.getMessage());
    }
  }

  /** Points the terminator at {@code next}'s config of {@code port} (if it still has one), then applies {@code next}. Holds this. */
  private ServeConfig change(int port, ServeConfig next, String what) {
    ServePort p = next.ports().get(port);
    if (p != null) {
      List<String> unsupported = GateSupport.unsupported(p);
      if (!unsupported.isEmpty()) {
        throw new ServeControl.Failure(400, "BAD_REQUEST", String.join("; ", unsupported));
      }
      if (p.agentTarget().kind().terminatesTls()) {
        String fqdn = agent.fqdn().orElseThrow(() -> new ServeControl.Failure(503, "UNAVAILABLE",
            "no session is up yet; try again once the node is connected"));
        terminators.bind(port, p, fqdn, agent.aliases().verified(),
            () -> TerminatorCertificates.initial(agent, settings, fqdn));
        certificates.report();   // the first terminated port brings the node's first certificate
      }
    }
    return apply(next, what);
  }

  /** Replaces the agent's serve config and waits for the gateway's confirmation. Holds this. */
  private ServeConfig apply(ServeConfig next, String what) {
    ServeConfig previous = serve;
    serve = next;
    agent.updateTcpRules(next.streamPolicies());
    try {
      agent.updateServe(next.agentTargets()).await(SERVE_CHANGE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new ServeControl.Failure(502, "NOT_CONFIRMED", what + " on this node, but the gateway did not confirm: "
          + Processes.describe(e) + " (the node answers by the new config already; the next login carries it)");
    } finally {
      terminators.undeployUnused();
    }
    checkTargets(next, targets(previous));
    return serve;
  }

  /**
   * Connects once to each local target {@code config} names but {@code known} does not, all at
   * once: a target that does not accept gets one WARNING now (clients would get 502 or 503 from it),
   * rather than the owner finding out from a client. Returns them, target → why. Blocking (main, or
   * NodeControl's worker); each check is bounded (LocalTargetCheck).
   */
  private Map<ServeTarget, String> checkTargets(ServeConfig config, Set<ServeTarget> known) {
    List<ServeTarget> fresh = targets(config).stream().filter(t -> !known.contains(t)).toList();
    Map<ServeTarget, String> failed = LocalTargetCheck.once(vertx, fresh).await();
    failed.forEach((target, why) -> LOG.log(System.Logger.Level.WARNING, "local target " + target
        + " is not answering: " + why + "; clients get an error page or a closed connection until it does"));
    return failed;
  }

  private static Set<ServeTarget> targets(ServeConfig config) {
    Set<ServeTarget> out = new LinkedHashSet<>();
    config.ports().values().forEach(p -> p.routes().forEach(r -> out.add(r.target())));
    return out;
  }

  /** The local control's URL ({@code funnel node serve …} finds it in the state directory). */
  String controlUrl() {
    return control == null ? "" : control.url();
  }

  NodeAgentVerticle agent() {
    return agent;
  }

  /**
   * The node's public name: its session's, or while none is up the last one a session had (the
   * ready line asks once the first is up); "?" before any.
   */
  @Override
  public String fqdn() {
    Optional<String> now = agent.fqdn();
    now.ifPresent(name -> lastFqdn = name);
    return now.orElse(lastFqdn == null ? "?" : lastFqdn);
  }

  boolean usesOpenSsl() {
    return terminators.usesOpenSsl();
  }

  /**
   * One line for the node owner, containing {@code ready}; a port the server does not route says
   * why, and so does a local target that did not accept a connection at the start.
   */
  String readyLine() {
    Map<Integer, String> refused = agent.refusedPorts();
    List<String> mapping = new ArrayList<>();
    serve.ports().forEach((port, p) -> {
      for (int i = p.routes().size() - 1; i >= 0; i--) {   // shortest path first: reads like a site map
        ServeRoute r = p.routes().get(i);
        mapping.add("https://" + fqdn() + (port == 443 ? "" : ":" + port) + r.path() + " → " + r.target()
            + (refused.containsKey(port) ? " (NOT ROUTED: " + refused.get(port) + ")" : "")
            + (notAnswering.containsKey(r.target()) ? " (NOT ANSWERING: " + notAnswering.get(r.target()) + ")" : ""));
      }
    });
    return "funnel node ready: " + (mapping.isEmpty() ? "nothing funnelled" : String.join(", ", mapping))
        + "; local control " + controlUrl() + " (funnel node serve list|add|rm --state " + settings.state() + ")";
  }

  /**
   * Where terminators listen: Unix domain sockets in the state directory, unless
   * {@code -Dfunnel.terminator.socket=false} asks for loopback TCP (to compare the two; bench/README.md).
   */
  private static java.nio.file.Path terminatorSocketDir(Settings settings) {
    return Boolean.parseBoolean(System.getProperty("funnel.terminator.socket", "true")) ? settings.state() : null;
  }
}
