package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import dev.funnel.common.tls.DevCa;
import dev.funnel.node.NodeAgentVerticle;
import dev.funnel.node.acme.AcmeClient;
import dev.funnel.node.acme.AcmeFiles;
import dev.funnel.node.acme.AcmeSettings;
import dev.funnel.node.acme.AcmeVerticle;
import dev.funnel.terminator.TerminatorOptions;
import dev.funnel.terminator.auth.LoginSettings;
import dev.funnel.terminator.gate.GateChain;
import dev.funnel.terminator.TerminatorVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

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
 * own (and the certificate, if the node had none yet); then the agent's serve config is replaced ({@code NodeAgentVerticle.updateServe}: the node refuses a
 * removed port at once and the registry withdraws its route when the gateway passes the update on).
 * Run-time changes last until the node stops; the command line is the configuration.
 */
final class NodeStack implements NodeControl.ServeControl {

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

  /** One tls-terminator deployment; it may serve several public ports. */
  private record Terminator(String deploymentId, TerminatorVerticle verticle) {
  }

  /**
   * The terminator listener a terminated port's offers are sent to: an HTTP one ({@code stream} null;
   * its routes can be swapped) or a {@code tls-terminated-tcp://} one for {@code stream}.
   */
  private record Binding(ServeTarget stream, HostPort listener, Terminator terminator) {
  }

  private final Vertx vertx;
  private final Settings settings;
  private final NodeOptions options;
  private final NodeAgentVerticle agent;
  private final TerminatorVerticle terminator;
  /** Terminated ports → their listener; kept when a port is removed, so adding it back reuses it. Guarded by this. */
  private final Map<Integer, Binding> bindings = new HashMap<>();
  /** Every terminator deployed and not yet stopped. Guarded by this. */
  private final List<Terminator> terminators = new ArrayList<>();
  /** The certificate terminators use now; replaced when ACME brings a new one. */
  private volatile KeyCertOptions keyCert;
  private AcmeVerticle acme;
  private volatile ServeConfig serve;
  private NodeControl control;
  private dev.funnel.node.PublicPathProbe prober;

  private NodeStack(Vertx vertx, Settings settings, NodeOptions options, NodeAgentVerticle agent,
                    TerminatorVerticle terminator, KeyCertOptions keyCert, ServeConfig serve) {
    this.vertx = vertx;
    this.settings = settings;
    this.options = options;
    this.agent = agent;
    this.terminator = terminator;
    this.keyCert = keyCert;
    this.serve = serve;
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

    TerminatorVerticle terminator = null;
    KeyCertOptions keyCert = null;
    AcmeFiles acmeFiles = settings.acme() == null ? null : new AcmeFiles(settings.acme().stateDir());
    Map<Integer, Binding> initialBindings = new HashMap<>();
    if (!terminated.isEmpty()) {
      keyCert = initialKeyCert(agent, settings, acmeFiles, fqdn);
      terminator = new TerminatorVerticle(new TerminatorOptions()
          .setSocketDir(terminatorSocketDir(settings))
          .setRoutes(terminated)
          .setKeyCert(keyCert)
          .setServerNames(Set.of(fqdn))
          .setGates(gates(settings)));
      String id = vertx.deployVerticle(terminator).await();
      Terminator deployed = new Terminator(id, terminator);
      terminated.forEach((port, p) -> initialBindings.put(port,
          new Binding(p.isStream() ? p.agentTarget() : null, deployed.verticle().listeners().get(port), deployed)));
      options.setTerminatorListeners(terminator.listeners());
      options.setTerminatorSockets(terminator.sockets());
      agent.updateServe(settings.serve().agentTargets()).await();
    }

    NodeStack stack = new NodeStack(vertx, settings, options, agent, terminator, keyCert, settings.serve());
    stack.reportCertificate();
    // Certificate files may be replaced behind the node's back (--cert/--key renewed by another tool).
    vertx.setPeriodic(CERTIFICATE_REPORT_MILLIS, id -> vertx.executeBlocking(() -> {
      stack.reportCertificate();
      return null;
    }, false));
    stack.bindings.putAll(initialBindings);
    initialBindings.values().stream().map(Binding::terminator).distinct().forEach(stack.terminators::add);
    if (settings.acme() != null) {
      // In the background: the node serves meanwhile (with the certificate it had, or the server CA's).
      stack.acme = new AcmeVerticle(settings.acme(), agent, fqdn, stack::useCertificate);
      vertx.deployVerticle(stack.acme).await();
    }
    agent.aliases().onVerifiedChange(stack::aliasesVerified);
    if (!agent.aliases().verified().isEmpty()) {
      stack.aliasesVerified(agent.aliases().verified());   // heard before the listener was added
    }
    stack.control = new NodeControl(settings.state(), stack);
    vertx.deployVerticle(stack.control).await();
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
    List<Terminator> running;
    synchronized (this) {
      running = List.copyOf(terminators);
    }
    running.forEach(t -> t.verticle().shutdown(seconds * 1000));
    return tunnels;
  }

  // ---------------------------------------------------------------- status

  @Override
  public Map<String, Map<String, Long>> decisions() {
    Map<String, Map<String, Long>> out = new java.util.TreeMap<>();
    List<Terminator> running;
    synchronized (this) {
      running = List.copyOf(terminators);
    }
    running.forEach(t -> out.putAll(t.verticle().gateTallies()));
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
    return NodeStatus.build(agent, prober, fqdn(), serve, certFile(), probe);
  }

  /**
   * Tells the agent when the certificate the terminators present expires (it tells its gateways:
   * {@code funnel_gateway_node_certificates}). Nothing while the node has none. Blocking.
   */
  private void reportCertificate() {
    NodeCertificates.notAfter(keyCert).ifPresent(agent::certificateExpiry);
  }

  /** The certificate file the terminator answers with, or null while the node has none. */
  private Path certFile() {
    if (keyCert instanceof PemKeyCertOptions pem && !pem.getCertPaths().isEmpty()) {
      return Path.of(pem.getCertPaths().get(0));
    }
    return null;

  }

  /**
   * The certificate a terminator starts with: {@code --cert/--key}; with {@code --acme}, the ACME
   * certificate in the state directory when there is one for this name (else the server CA's until
   * the first order completes); otherwise the server CA's. Blocking.
   */
  private static KeyCertOptions initialKeyCert(NodeAgentVerticle agent, Settings settings, AcmeFiles acmeFiles,
                                               String fqdn) {
    return chooseKeyCert(agent, settings, acmeFiles, fqdn);
  }

  private static KeyCertOptions chooseKeyCert(NodeAgentVerticle agent, Settings settings, AcmeFiles acmeFiles,
                                              String fqdn) {
    if (settings.cert() != null) {
      return new PemKeyCertOptions().setCertPath(settings.cert().toString()).setKeyPath(settings.key().toString());
    }
    if (acmeFiles != null && acmeFiles.chain().filter(chain -> NodeCertificates.names(chain.get(0), fqdn)
        && chain.get(0).getNotAfter().toInstant().isAfter(java.time.Instant.now())).isPresent()) {
      LOG.log(Level.INFO, "using the ACME certificate for " + fqdn + " in " + acmeFiles.cert());
      return new PemKeyCertOptions().setCertPath(acmeFiles.cert().toString()).setKeyPath(acmeFiles.key().toString());
    }
    return NodeCertificates.obtain(agent, settings.state(), fqdn);
  }

  /**
   * A new ACME certificate: every running terminator takes it for new handshakes (open connections
   * keep theirs), and terminators bound later start with it. Called on the ACME verticle's loop; the
   * swap runs on a worker, as the stack's lock may be held by a serve change.
   */
  private void useCertificate(AcmeClient.Issued issued) {
    KeyCertOptions next = new PemKeyCertOptions()
        .setKeyValue(io.vertx.core.buffer.Buffer.buffer(DevCa.pem(issued.domainKey().getPrivate())))
        .setCertValue(io.vertx.core.buffer.Buffer.buffer(issued.chainPem()));
    vertx.executeBlocking(() -> {
      List<Terminator> running;
      synchronized (this) {
        keyCert = next;
        running = new ArrayList<>(terminators);
      }
      return running;
    }, false).compose(running -> Future.all(running.stream()
            .map(t -> t.verticle().updateKeyCert(next)).toList()))
        .onSuccess(v -> agent.certificateExpiry(issued.chain().get(0).getNotAfter().toInstant()))
        .onSuccess(v -> LOG.log(Level.INFO, "the terminator(s) now present the new ACME certificate for " + fqdn()))
        .onFailure(e -> LOG.log(Level.WARNING, "the new ACME certificate could not be loaded: " + e.getMessage()
            + "; keeping the old one"));
  }

  /**
   * The node's verified custom domains changed: the terminators serve them (HTTP requests for them
   * pass the name check), and the certificate must name them: with ACME a new order runs (aliases by
   * tls-alpn-01); with the server's CA a new certificate naming the node and its aliases is signed
   * through the session. With --cert/--key the operator's certificate stays as it is.
   */
  private void aliasesVerified(Set<String> aliases) {
    List<Terminator> running;
    synchronized (this) {
      running = new ArrayList<>(terminators);
    }
    running.forEach(t -> t.verticle().updateAliasNames(aliases));
    if (acme != null) {
      acme.aliasesChanged(aliases);
      return;
    }
    if (settings.cert() != null || running.isEmpty()) {
      return;
    }
    List<String> names = new ArrayList<>();
    names.add(fqdn());
    aliases.stream().sorted().forEach(names::add);
    NodeCertificates.obtainAsync(vertx, agent, settings.state(), names).<KeyCertOptions>map(next -> {
      synchronized (this) {
        keyCert = next;
      }
      return next;
    }).compose(next -> Future.all(running.stream().map(t -> t.verticle().updateKeyCert(next)).toList()))
        .onSuccess(v -> LOG.log(Level.INFO, "the terminator(s) now present a certificate for " + fqdn()
            + (aliases.isEmpty() ? "" : " and " + String.join(", ", aliases.stream().sorted().toList()))))
        .onFailure(e -> LOG.log(Level.WARNING, "no certificate for the aliases " + aliases + ": " + e.getMessage()));
  }

  /** Orders a new ACME certificate now and waits for it (funnel cert --renew). Blocking. */
  @Override
  public String renewCertificate() {
    if (acme == null) {
      throw new NodeControl.Failure(409, "NO_ACME", "this node does not use ACME (start it with --acme)");
    }
    try {
      AcmeClient.Issued issued = acme.renewNow().await(SERVE_CHANGE_TIMEOUT_MILLIS * 10, TimeUnit.MILLISECONDS);
      return issued.chain().get(0).getNotAfter().toInstant().toString();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new NodeControl.Failure(504, "TIMEOUT", "the ACME order did not complete in time");
    } catch (RuntimeException e) {
      throw new NodeControl.Failure(502, "ACME_FAILED", "the ACME order failed: " + Processes.describe(e));
    }
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
        new NodeControl.Failure(404, "NOT_FUNNELLED", "this node does not funnel port " + port));
    ServeConfig next;
    if (path == null) {
      next = valid(() -> serve.with(p.withPolicy(policy)));
    } else {
      ServeRoute route = p.route(path).orElseThrow(() ->
          new NodeControl.Failure(404, "NOT_FUNNELLED", "port " + port + " has no route " + path));
      next = valid(() -> serve.with(p.withRoute(route.withPolicy(policy))));
    }
    return change(port, next, "gate of " + port + (path == null ? "" : path) + " now " + policy.describe());
  }

  @Override
  public synchronized ServeConfig remove(int port, String path) {
    ServePort p = serve.port(port).orElseThrow(() ->
        new NodeControl.Failure(404, "NOT_FUNNELLED", "this node does not funnel port " + port));
    if (path == null) {
      return apply(serve.withoutPort(port), "no longer funnelling " + port);
    }
    if (p.route(path).isEmpty()) {
      throw new NodeControl.Failure(404, "NOT_FUNNELLED", "port " + port + " has no route " + path);
    }
    return change(port, serve.withoutRoute(port, path), "no longer funnelling " + port + path);
  }

  /** Builds a config; a broken invariant (a tcp:// route beside paths…) becomes a 400. */
  private static ServeConfig valid(java.util.function.Supplier<ServeConfig> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      throw new NodeControl.Failure(400, "BAD_REQUEST", e.getMessage());
    }
  }

  /** Points the terminator at {@code next}'s config of {@code port} (if it still has one), then applies {@code next}. Holds this. */
  private ServeConfig change(int port, ServeConfig next, String what) {
    ServePort p = next.ports().get(port);
    if (p != null) {
      List<String> unsupported = GateSupport.unsupported(p);
      if (!unsupported.isEmpty()) {
        throw new NodeControl.Failure(400, "BAD_REQUEST", String.join("; ", unsupported));
      }
      if (p.agentTarget().kind().terminatesTls()) {
        bindTerminator(port, p);
      }
    }
    return apply(next, what);
  }

  /** Replaces the agent's serve config and waits for the gateway's confirmation. Holds this. */
  private ServeConfig apply(ServeConfig next, String what) {
    serve = next;
    agent.updateTcpRules(next.streamPolicies());
    try {
      agent.updateServe(next.agentTargets()).await(SERVE_CHANGE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new NodeControl.Failure(502, "NOT_CONFIRMED", what + " on this node, but the gateway did not confirm: "
          + Processes.describe(e) + " (the node answers by the new config already; the next login carries it)");
    } finally {
      undeployUnusedTerminators();
    }
    return serve;
  }

  /**
   * Makes sure a terminator listens for {@code port} with {@code target}: the one already bound if its
   * target is the same, else a new terminator for that port alone (the certificate is obtained first
   * if this node had no terminated port yet). Blocking; holds this.
   */
  private void bindTerminator(int port, ServePort config) {
    Binding bound = bindings.get(port);
    if (bound != null && bound.stream() == null && !config.isStream()) {
      // An HTTP listener already serves the port: swap its routes in place.
      try {
        bound.terminator().verticle().updateRoutes(port, config).await(SERVE_CHANGE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new NodeControl.Failure(503, "UNAVAILABLE", "the terminator did not take the new routes of port " + port
            + " within " + SERVE_CHANGE_TIMEOUT_MILLIS + " ms");
      } catch (RuntimeException e) {
        throw new NodeControl.Failure(400, "BAD_REQUEST", "port " + port + ": " + Processes.describe(e));
      }
      return;
    }
    if (bound != null && config.isStream() && config.agentTarget().equals(bound.stream())) {
      return;
    }
    String fqdn = agent.fqdn().orElseThrow(() ->
        new NodeControl.Failure(503, "UNAVAILABLE", "no session is up yet; try again once the node is connected"));
    if (keyCert == null) {
      keyCert = initialKeyCert(agent, settings,
          settings.acme() == null ? null : new AcmeFiles(settings.acme().stateDir()), fqdn);
      reportCertificate();
    }
    TerminatorVerticle added = new TerminatorVerticle(new TerminatorOptions()
        .setSocketDir(terminatorSocketDir(settings))
        .setRoutes(Map.of(port, config))
        .setKeyCert(keyCert)
        .setServerNames(Set.of(fqdn))
        .setAliasNames(agent.aliases().verified())
        .setGates(gates(settings)));
    String id;
    try {
      id = vertx.deployVerticle(added).await(SERVE_CHANGE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new NodeControl.Failure(503, "UNAVAILABLE", "the terminator for port " + port + " did not start within "
          + SERVE_CHANGE_TIMEOUT_MILLIS + " ms");
    }
    HostPort listener = added.listeners().get(port);
    Terminator deployed = new Terminator(id, added);
    terminators.add(deployed);
    bindings.put(port, new Binding(config.isStream() ? config.agentTarget() : null, listener, deployed));
    // Copy on write: offers read this map on the agent's event loop, after the serve snapshot
    // that names the port, so they see either the old map or this whole new one.
    Map<Integer, HostPort> listeners = new LinkedHashMap<>(options.getTerminatorListeners());
    Map<Integer, java.nio.file.Path> sockets = new LinkedHashMap<>(options.getTerminatorSockets());
    listeners.remove(port);
    sockets.remove(port);
    if (listener != null) {
      listeners.put(port, listener);
    }
    if (added.sockets().containsKey(port)) {
      sockets.put(port, added.sockets().get(port));
    }
    // Sockets first: an offer that reads the new sockets map with the old listeners still finds the port.
    options.setTerminatorSockets(sockets);
    options.setTerminatorListeners(listeners);
  }

  /**
   * Stops each terminator no port is bound to any more (its target was replaced by another one);
   * its open connections end with it. Holds this.
   */
  private void undeployUnusedTerminators() {
    Set<Terminator> used = Collections.newSetFromMap(new IdentityHashMap<>());
    bindings.values().forEach(b -> used.add(b.terminator()));
    for (Iterator<Terminator> it = terminators.iterator(); it.hasNext(); ) {
      Terminator t = it.next();
      if (!used.contains(t)) {
        it.remove();
        vertx.undeploy(t.deploymentId()).onFailure(e ->
            LOG.log(Level.WARNING, "stopping a terminator no port uses failed: {0}", e.getMessage()));
      }
    }
  }

  /** The local control's URL ({@code funnel node serve …} finds it in the state directory). */
  String controlUrl() {
    return control == null ? "" : control.url();
  }

  NodeAgentVerticle agent() {
    return agent;
  }

  @Override
  public String fqdn() {
    return agent.fqdn().orElse("?");
  }

  boolean usesOpenSsl() {
    return terminator != null && terminator.usesOpenSsl();
  }

  /** One line for the node owner, containing {@code ready}; a port the server does not route says why. */
  String readyLine() {
    Map<Integer, String> refused = agent.refusedPorts();
    List<String> mapping = new ArrayList<>();
    serve.ports().forEach((port, p) -> {
      for (int i = p.routes().size() - 1; i >= 0; i--) {   // shortest path first: reads like a site map
        ServeRoute r = p.routes().get(i);
        mapping.add("https://" + fqdn() + (port == 443 ? "" : ":" + port) + r.path() + " → " + r.target()
            + (refused.containsKey(port) ? " (NOT ROUTED: " + refused.get(port) + ")" : ""));
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
