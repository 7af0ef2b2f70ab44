package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.ServePort;
import dev.funnel.terminator.TerminatorOptions;
import dev.funnel.terminator.TerminatorVerticle;
import dev.funnel.terminator.gate.GateChain;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The node's tls-terminator deployments: which terminator each terminated public port's offers go
 * to, and the certificate they present. An HTTP port keeps its listener across route changes (its
 * routes are swapped in place); a port whose {@code tls-terminated-tcp://} target changes, or that is
 * served for the first time, gets a terminator of its own; a terminator no port uses any more is
 * stopped. The agent finds each port's listener in {@link NodeOptions}, replaced whole on each change.
 *
 * <p>One lock (this object's) covers the bindings, the deployments and the certificate, so a
 * certificate swap and a new terminator never cross: a terminator deployed during a swap starts with
 * the new certificate or is in the list the swap updates. The methods that take it ({@code start},
 * {@code bind}, {@code undeployUnused}, {@code present}) may wait for a deployment (up to
 * {@link NodeStack#SERVE_CHANGE_TIMEOUT_MILLIS}): call them from main or a worker, never an event
 * loop. The others read without it.
 */
final class NodeTerminators {

  private static final System.Logger LOG = System.getLogger(NodeTerminators.class.getName());

  /** One tls-terminator deployment; it may serve several public ports. */
  private record Terminator(String deploymentId, TerminatorVerticle verticle) {
  }

  /**
   * The terminator a terminated port's offers are sent to: an HTTP listener ({@code stream} null; its
   * routes can be swapped) or a {@code tls-terminated-tcp://} one for {@code stream}.
   */
  private record Binding(ServeTarget stream, Terminator terminator) {
  }

  private final Vertx vertx;
  private final NodeOptions options;
  private final Path socketDir;
  private final GateChain gates;
  /** Terminated ports → their terminator; kept when a port is removed, so adding it back reuses it. */
  private final Map<Integer, Binding> bindings = new HashMap<>();
  /** Every terminator deployed and not yet stopped; written under the lock, read without it. */
  private final List<Terminator> terminators = new CopyOnWriteArrayList<>();
  /** The certificate terminators present; null until the node has a terminated port. Written under the lock. */
  private volatile KeyCertOptions keyCert;
  /** The terminator the node started with, if any (which TLS engine the node's terminators use). */
  private volatile TerminatorVerticle first;

  /**
   * @param options   the agent's options: each change replaces its terminator listener and socket maps
   * @param socketDir where terminators listen on Unix domain sockets (null: loopback TCP)
   */
  NodeTerminators(Vertx vertx, NodeOptions options, Path socketDir, GateChain gates) {
    this.vertx = vertx;
    this.options = options;
    this.socketDir = socketDir;
    this.gates = gates;
  }

  /** Deploys one terminator for the terminated ports the node starts with, presenting {@code keyCert}. Blocking. */
  synchronized void start(Map<Integer, ServePort> terminated, KeyCertOptions keyCert, String fqdn) {
    this.keyCert = keyCert;
    TerminatorVerticle verticle = new TerminatorVerticle(new TerminatorOptions()
        .setSocketDir(socketDir)
        .setRoutes(terminated)
        .setKeyCert(keyCert)
        .setServerNames(Set.of(fqdn))
        .setGates(gates));
    Terminator deployed = new Terminator(vertx.deployVerticle(verticle).await(), verticle);
    first = verticle;
    terminators.add(deployed);
    terminated.forEach((port, p) -> bindings.put(port, new Binding(p.isStream() ? p.agentTarget() : null, deployed)));
    options.setTerminatorListeners(verticle.listeners());
    options.setTerminatorSockets(verticle.sockets());
  }

  /**
   * Makes sure a terminator serves {@code port} with {@code config}: the one already bound if its
   * target is the same (an HTTP port's routes are swapped in place), else a new terminator for that
   * port alone, presenting the current certificate ({@code firstKeyCert} is asked for one if the node
   * had no terminated port yet). Failures are {@link ServeControl.Failure}s for the local control.
   */
  synchronized void bind(int port, ServePort config, String fqdn, Set<String> aliases,
                         Supplier<KeyCertOptions> firstKeyCert) {
    Binding bound = bindings.get(port);
    if (bound != null && bound.stream() == null && !config.isStream()) {
      try {
        bound.terminator().verticle().updateRoutes(port, config)
            .await(NodeStack.SERVE_CHANGE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new ServeControl.Failure(503, "UNAVAILABLE", "the terminator did not take the new routes of port " + port
            + " within " + NodeStack.SERVE_CHANGE_TIMEOUT_MILLIS + " ms");
      } catch (RuntimeException e) {
        throw new ServeControl.Failure(400, "BAD_REQUEST", "port " + port + ": " + Processes.describe(e));
      }
      return;
    }
    if (bound != null && config.isStream() && config.agentTarget().equals(bound.stream())) {
      return;
    }
    if (keyCert == null) {
      keyCert = firstKeyCert.get();
    }
    TerminatorVerticle added = new TerminatorVerticle(new TerminatorOptions()
        .setSocketDir(socketDir)
        .setRoutes(Map.of(port, config))
        .setKeyCert(keyCert)
        .setServerNames(Set.of(fqdn))
        .setAliasNames(aliases)
        .setGates(gates));
    String id;
    try {
      id = vertx.deployVerticle(added).await(NodeStack.SERVE_CHANGE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new ServeControl.Failure(503, "UNAVAILABLE", "the terminator for port " + port + " did not start within "
          + NodeStack.SERVE_CHANGE_TIMEOUT_MILLIS + " ms");
    }
    Terminator deployed = new Terminator(id, added);
    terminators.add(deployed);
    bindings.put(port, new Binding(config.isStream() ? config.agentTarget() : null, deployed));
    // Copy on write: offers read these maps on the agent's event loop, after the serve snapshot
    // that names the port, so they see either the old map or this whole new one.
    Map<Integer, HostPort> listeners = new LinkedHashMap<>(options.getTerminatorListeners());
    Map<Integer, Path> sockets = new LinkedHashMap<>(options.getTerminatorSockets());
    listeners.remove(port);
    sockets.remove(port);
    if (added.listeners().containsKey(port)) {
      listeners.put(port, added.listeners().get(port));
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
   * its open connections end with it.
   */
  synchronized void undeployUnused() {
    Set<Terminator> used = Collections.newSetFromMap(new IdentityHashMap<>());
    bindings.values().forEach(b -> used.add(b.terminator()));
    for (Terminator t : terminators) {
      if (!used.contains(t)) {
        terminators.remove(t);
        vertx.undeploy(t.deploymentId()).onFailure(e ->
            LOG.log(Level.WARNING, "stopping a terminator no port uses failed: {0}", e.getMessage()));
      }
    }
  }

  /**
   * {@code next} becomes the certificate: every running terminator presents it to new handshakes
   * (open connections keep theirs) and terminators bound later start with it. Completes when every
   * terminator has loaded it. Blocking while a serve change holds the lock: call from a worker.
   */
  Future<?> present(KeyCertOptions next) {
    List<TerminatorVerticle> running;
    synchronized (this) {
      keyCert = next;
      running = running();
    }
    return Future.all(running.stream().map(t -> t.updateKeyCert(next)).toList());
  }

  /** The certificate terminators present, or null while the node has none. */
  KeyCertOptions keyCert() {
    return keyCert;
  }

  /** The certificate file terminators present, or null while there is none (or it was given as PEM text). */
  Path certFile() {
    return keyCert() instanceof PemKeyCertOptions pem && !pem.getCertPaths().isEmpty()
        ? Path.of(pem.getCertPaths().get(0)) : null;
  }

  /** Whether the node has a terminated port (so a certificate to renew). */
  boolean any() {
    return !terminators.isEmpty();
  }

  /** The node's verified custom domains changed: requests for them pass every terminator's name check. */
  void aliasNames(Set<String> aliases) {
    running().forEach(t -> t.updateAliasNames(aliases));
  }

  /** The first step of the node's stop: every terminator ends each HTTP connection once its request is answered. */
  void shutdown(long millis) {
    running().forEach(t -> t.shutdown(millis));
  }

  /** Each terminated route's gate decisions ({@code funnel status}). */
  Map<String, Map<String, Long>> gateTallies() {
    Map<String, Map<String, Long>> out = new TreeMap<>();
    running().forEach(t -> out.putAll(t.gateTallies()));
    return out;
  }

  /** Whether the node's terminators terminate TLS with OpenSSL. */
  boolean usesOpenSsl() {
    TerminatorVerticle t = first;
    return t != null && t.usesOpenSsl();
  }

  /** The terminators running now (without waiting for a serve change). */
  private List<TerminatorVerticle> running() {
    return terminators.stream().map(Terminator::verticle).toList();
  }
}
