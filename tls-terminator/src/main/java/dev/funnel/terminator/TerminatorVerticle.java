package dev.funnel.terminator;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GateLog;
import dev.funnel.common.serve.ServePort;
import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's TLS terminator: one loopback listener per public port whose target terminates TLS.
 * Each listener expects a PROXY protocol header (the node agent writes one carrying the public
 * client's address), then a TLS handshake answered with the node's own certificate through
 * OpenSSL (netty-tcnative BoringSSL) with ALPN {@code h2}, {@code http/1.1}.
 *
 * <ul>
 *   <li>HTTP ports (routes to {@code http://}, {@code https+insecure://}, {@code file://}, {@code text:},
 *       {@code redirect:}): HTTP/1.1 and HTTP/2 through a Vert.x Web router per port ({@link HttpPort}):
 *       guard ladder, path routes (longest prefix wins), each route's gates, then its target;
 *       {@link #updateRoutes} swaps a port's router at run time;</li>
 *   <li>{@code tls-terminated-tcp://}: the plaintext stream spliced to the target ({@link TcpForwarder}).</li>
 * </ul>
 *
 * After {@link #start()}, {@link #listeners()} says where each public port is served; the launcher
 * hands that map to the node agent. Each instance's listeners are a {@link PortListeners}.
 *
 * <p>Each port is served on {@link TerminatorOptions#getEventLoops()} event loops: this verticle
 * binds the listeners, then deploys that many less one replicas of itself, each with its own
 * listeners on the same ports (Vert.x shares one bound socket among servers listening on the same
 * negative port, and hands accepted connections to them in turn) and its own backend clients.
 * Replicas are child deployments: undeploying this verticle stops them.
 */
public class TerminatorVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(TerminatorVerticle.class.getName());
  private static final AtomicBoolean WARNED_NO_OPENSSL = new AtomicBoolean();
  /**
   * Vert.x binds a random port for a negative one, shared by every server in the process listening
   * on that same negative number; each public port of each terminator takes a number of its own.
   */
  private static final AtomicInteger SHARED_RANDOM_PORTS = new AtomicInteger();

  private final TerminatorOptions options;
  private final boolean openSsl;
  /** Public port → the negative port its listeners share; given to a replica, filled in by the first. */
  private final Map<Integer, Integer> sharedPorts;
  /** The first instance's meters, when this is a replica. */
  private final TerminatorMetrics replicaOf;
  /** Gate state common to the event loops and kept across changes ({@code GateContext.shared}). */
  private final ConcurrentMap<String, Object> gateState;
  private final List<TerminatorVerticle> replicas = new CopyOnWriteArrayList<>();
  /** This instance's listeners, on its event loop; set at start. */
  private volatile PortListeners ports;
  private volatile Map<Integer, HostPort> listeners = Map.of();
  private volatile Map<Integer, Path> sockets = Map.of();
  private volatile KeyCertOptions keyCert;
  private TerminatorMetrics metrics;
  private CertFileWatcher watcher;

  public TerminatorVerticle(TerminatorOptions options) {
    this(options, new LinkedHashMap<>(), null, new ConcurrentHashMap<>());
  }

  private TerminatorVerticle(TerminatorOptions options, Map<Integer, Integer> sharedPorts, TerminatorMetrics replicaOf,
      ConcurrentMap<String, Object> gateState) {
    this.options = new TerminatorOptions(options);
    this.sharedPorts = sharedPorts;
    this.gateState = gateState;
    this.replicaOf = replicaOf;
    this.keyCert = this.options.getKeyCert();
    this.openSsl = OpenSsl.isAvailable();
    if (!openSsl && WARNED_NO_OPENSSL.compareAndSet(false, true)) {
      LOG.log(Level.WARNING, "OpenSSL (netty-tcnative) is not available here ({0}); terminating TLS with the JDK engine",
          String.valueOf(OpenSsl.unavailabilityCause()));
    }
  }

  @Override
  public Future<?> start() {
    if (keyCert == null) {
      return Future.failedFuture(new IllegalStateException("the terminator needs the node's certificate and key"));
    }
    boolean servesHttp = options.getTargets().values().stream()
        .anyMatch(t -> t.kind() != ServeTarget.Kind.TLS_TERMINATED_TCP);
    if (servesHttp && options.getServerNames().isEmpty()) {
      return Future.failedFuture(new IllegalStateException(
          "the terminator needs the node's names to check each request's Host against"));
    }
    boolean replica = replicaOf != null;
    metrics = replica ? replicaOf : TerminatorMetrics.create();
    ports = new PortListeners(vertx, context, options, metrics, engineOptions(), gateState);
    Map<Integer, Future<HostPort>> bound = new LinkedHashMap<>();
    Map<Integer, Path> onSockets = new LinkedHashMap<>();
    for (Map.Entry<Integer, ServePort> entry : options.getRoutes().entrySet()) {
      int port = entry.getKey();
      ServeTarget target = entry.getValue().agentTarget();
      int listenPort = sharedPorts.computeIfAbsent(port, p -> SHARED_RANDOM_PORTS.decrementAndGet());
      Path socket = PortListeners.socketPath(options.getSocketDir(), port, listenPort);
      SocketAddress address;
      if (socket != null) {
        if (!replica) {
          try {
            Files.deleteIfExists(socket);   // left by a process that died; a live one holds the state lock
          } catch (IOException e) {
            return Future.failedFuture(new IllegalStateException("cannot remove the old socket " + socket + ": " + e));
          }
        }
        onSockets.put(port, socket);
        address = SocketAddress.domainSocketAddress(socket.toString());
      } else {
        address = null;   // TCP on the shared negative port (SocketAddress takes no negative port)
      }
      bound.put(port, target.kind() == ServeTarget.Kind.TLS_TERMINATED_TCP
          ? ports.listenTcp(port, listenPort, address, target, keyCert)
          : ports.listenHttp(port, listenPort, address, entry.getValue(), keyCert));
    }
    Future<?> listening = Future.all(new ArrayList<>(bound.values())).map(all -> {
      Map<Integer, HostPort> result = new LinkedHashMap<>();
      bound.forEach((port, future) -> {
        if (!onSockets.containsKey(port)) {
          result.put(port, future.result());
        }
      });
      listeners = Collections.unmodifiableMap(result);
      sockets = Collections.unmodifiableMap(onSockets);
      return null;
    });
    if (replica) {
      return listening;
    }
    return listening.compose(v -> startReplicas()).map(v -> {
      Map<Integer, Object> where = new LinkedHashMap<>(listeners);
      where.putAll(sockets);
      where.forEach((port, at) -> LOG.log(Level.INFO,
          "terminating TLS for public port {0} on {1} → {2} ({3}, {4} event loop(s))", String.valueOf(port), at,
          options.getRoutes().get(port).describe(), openSsl ? "OpenSSL" : "JDK TLS", String.valueOf(1 + replicas.size())));
      if (options.getCertReloadCheckMillis() > 0 && keyCert instanceof PemKeyCertOptions pem) {
        watcher = CertFileWatcher.start(vertx, pem, options.getCertReloadCheckMillis(), this::reloadFromFiles);
      }
      return null;
    });
  }

  /** The other event loops' listeners, on the ports this instance bound. */
  private Future<?> startReplicas() {
    int more = options.getEventLoops() - 1;
    if (more == 0) {
      return Future.succeededFuture();
    }
    TerminatorOptions replicaOptions = new TerminatorOptions(options).setKeyCert(keyCert).setCertReloadCheckMillis(0);
    Map<Integer, Integer> shared = Map.copyOf(sharedPorts);
    return vertx.deployVerticle(() -> {
      TerminatorVerticle replica = new TerminatorVerticle(replicaOptions, new LinkedHashMap<>(shared), metrics, gateState);
      replicas.add(replica);
      return replica;
    }, new DeploymentOptions().setInstances(more));
  }

  @Override
  public Future<?> stop() {
    if (watcher != null) {
      watcher.stop();
    }
    Future<?> closed = ports == null ? Future.succeededFuture() : ports.close();
    if (replicaOf != null || sockets.isEmpty()) {
      return closed;
    }
    return closed.andThen(done -> sockets.values().forEach(socket -> {
      try {
        Files.deleteIfExists(socket);
      } catch (IOException e) {
        LOG.log(Level.DEBUG, "could not remove {0}: {1}", socket, e.toString());
      }
    }));
  }

  /**
   * The first step of the node's clean stop: every HTTP listener, the replicas' too, stops accepting,
   * and each connection ends once the request it serves is answered (HTTP/1.1; an idle keep-alive
   * one at once) or, after a GOAWAY, once its streams are (HTTP/2); at {@code millis} the rest are
   * closed (Vert.x's {@code HttpServer.shutdown}). {@code tls-terminated-tcp://} ports keep their
   * connections until {@link #stop()}.
   */
  public Future<Void> shutdown(long millis) {
    return PortListeners.shutdownHttp(everyLoop(), millis);
  }

  /** Public port → the loopback address serving it (ports on a socket not included); empty before {@link #start()} completes. */
  public Map<Integer, HostPort> listeners() {
    return listeners;
  }

  /** Public port → the Unix domain socket serving it ({@link TerminatorOptions#getSocketDir()}); empty before start. */
  public Map<Integer, Path> sockets() {
    return sockets;
  }

  /** True when TLS is terminated by OpenSSL (netty-tcnative BoringSSL), false on the JDK fallback. */
  public boolean usesOpenSsl() {
    return openSsl;
  }

  /** The TLS engine the listeners were configured with. */
  public SSLEngineOptions sslEngineOptions() {
    return engineOptions();
  }

  /**
   * Swaps the certificate on every running listener; new handshakes use it, open connections keep
   * theirs. Used when the node's certificate is renewed or its files change. (A replica's listeners
   * hand their connections the TLS context of the server that bound the port, which this updates.)
   */
  public Future<Void> updateKeyCert(KeyCertOptions newKeyCert) {
    return ports.updateKeyCert(newKeyCert).onSuccess(v -> keyCert = newKeyCert);
  }

  /**
   * The node's verified custom domains now: HTTP requests for them are served like the node's own
   * name (every replica; the next request). The certificate is the caller's business.
   */
  public void updateAliasNames(Set<String> aliases) {
    options.setAliasNames(aliases);
  }

  private void reloadFromFiles() {
    updateKeyCert(keyCert)
        .onSuccess(v -> LOG.log(Level.INFO, "certificate files changed; new handshakes use the new certificate"))
        .onFailure(e -> LOG.log(Level.WARNING, "certificate files changed but cannot be loaded ({0}); keeping the old certificate",
            e.getMessage()));
  }

  /**
   * Replaces what HTTP port {@code publicPort} serves (routes, gates) on every event loop, for the
   * next request; open connections stay. All or nothing: every event loop's router is built first,
   * then all are swapped; if one cannot be built (a gate that cannot be set up) none is, and the
   * future fails with the reason. Fails for a port this terminator does not serve over HTTP.
   */
  public Future<Void> updateRoutes(int publicPort, ServePort config) {
    return PortListeners.updateRoutes(everyLoop(), publicPort, config).onSuccess(v -> {
      options.getRoutes().put(publicPort, config);
      LOG.log(Level.INFO, "public port {0} now serves {1}", String.valueOf(publicPort), config.describe());
    });
  }

  /**
   * Each gated route's decisions so far, {@code "PORT PATH" → ("rule/outcome" → count)} (for
   * {@code funnel node serve list}); kept across run-time changes, summed over the event loops.
   */
  public Map<String, Map<String, Long>> gateTallies() {
    Map<String, Map<String, Long>> out = new TreeMap<>();
    gateState.forEach((key, value) -> {
      if (value instanceof GateLog log && key.endsWith(" gate-log")) {
        out.put(key.substring(0, key.length() - " gate-log".length()), log.tallies());
      }
    });
    return out;
  }

  /** What HTTP port {@code publicPort} serves now; empty when it is not one of this terminator's HTTP ports. */
  public Optional<ServePort> routes(int publicPort) {
    HttpPort port = ports == null ? null : ports.httpPort(publicPort);
    return port == null ? Optional.empty() : Optional.ofNullable(port.config());
  }

  /** The listeners of this instance and of its replicas, one per event loop. */
  private List<PortListeners> everyLoop() {
    List<PortListeners> all = new ArrayList<>();
    all.add(ports);
    replicas.forEach(r -> all.add(r.ports));
    return all;
  }

  private SSLEngineOptions engineOptions() {
    return openSsl ? new OpenSSLEngineOptions() : new JdkSSLEngineOptions();
  }
}
