package dev.funnel.terminator;

import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.terminator.gate.GateChain;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.KeyCertOptions;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Options of the node's TLS terminator. Every wait is bounded, with a named default.
 *
 * <p>{@link #getKeyCert() keyCert} is set in code (the launcher loads it from {@code --cert/--key}
 * or has the node's certificate issued); it is not part of the JSON form.
 */
public class TerminatorOptions {

  /** Listeners bind here, always on an ephemeral port: only the node agent on this machine dials them. */
  public static final String DEFAULT_BIND_HOST = "127.0.0.1";
  /** Dialling the local backend (HTTP or plain TCP). */
  public static final long DEFAULT_BACKEND_CONNECT_TIMEOUT_MILLIS = 5_000;
  /**
   * How long the backend may stay silent once the request has been sent: no response head, or no
   * body bytes for this long, and the client gets {@code 504} (or the stream is reset if the head
   * was already sent). Like nginx's {@code proxy_read_timeout}.
   */
  public static final long DEFAULT_BACKEND_RESPONSE_TIMEOUT_MILLIS = 60_000;
  /** The PROXY protocol header must arrive within this after accept. */
  public static final long DEFAULT_PROXY_HEADER_TIMEOUT_MILLIS = 10_000;
  /** The TLS handshake must finish within this. */
  public static final long DEFAULT_TLS_HANDSHAKE_TIMEOUT_MILLIS = 10_000;
  /** A public client connection (HTTP keep-alive, WebSocket or TCP tunnel) silent this long is closed. */
  public static final int DEFAULT_IDLE_TIMEOUT_SECONDS = 3_600;
  /** HTTP/1.1 connections each target's backend client may hold open. */
  public static final int DEFAULT_MAX_BACKEND_CONNECTIONS = 256;
  /** How often {@code --cert/--key} PEM files are checked for changes (0: never). */
  public static final long DEFAULT_CERT_RELOAD_CHECK_MILLIS = 5_000;
  /**
   * An HTTP/1.0 client cannot take a chunked response, so vertx-http-proxy buffers a response of
   * unknown length whole before sending it; this caps that buffer (the response is refused above it).
   */
  public static final int DEFAULT_MAX_HTTP10_BUFFER_BYTES = 8 * 1024 * 1024;
  /**
   * tls-terminated-tcp: plaintext a client may send while its target is being dialled; it is held
   * and written to the target first. A client sending more before the target answers is refused.
   */
  public static final int DEFAULT_MAX_EARLY_BYTES = 1024 * 1024;
  /**
   * HTTP/2 receive window of each request stream (SETTINGS_INITIAL_WINDOW_SIZE). HTTP/2's default,
   * 64 KiB, lets an upload move one window per round trip; through a tunnel a 200 MB upload took 3.2×
   * as long over HTTP/2 as over HTTP/1.1, which has no such window (1 MiB: 1.7×; 4 MiB: 0.94–1.28×
   * over five runs; bench/README.md). 4 MiB carries ~1.6 Gbit/s at 20 ms. Vert.x gives credit back
   * as each DATA frame reaches the request's handler, and vertx-http-proxy pauses the request while
   * the backend's connection is full, so a backend that reads slowly holds at most this much per stream.
   */
  public static final int DEFAULT_HTTP2_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
  /**
   * HTTP/2 receive window of a client's connection, over all its streams: the most one connection
   * holds when the backend does not read (a TCP socket's receive buffer grows to 6 MiB on Linux).
   * Four times the stream window: equal to it, the 200 MB upload took 1.22–1.24× as long as over
   * HTTP/1.1, against 1.02–1.10× in the same pair of runs (bench/README.md).
   */
  public static final int DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
  /**
   * Event loops each public port is served on (one listener per loop on the same port; the kernel's
   * accepted connections are handed round-robin): one per core, as nginx's {@code worker_processes
   * auto}. TLS and HTTP work on one loop cannot use a second core.
   */
  public static final int DEFAULT_EVENT_LOOPS = Math.max(1, Runtime.getRuntime().availableProcessors());

  private String bindHost = DEFAULT_BIND_HOST;
  /** Where the listeners are Unix domain sockets; null: loopback TCP on {@link #bindHost}. */
  private java.nio.file.Path socketDir;
  private Map<Integer, ServePort> routes = new LinkedHashMap<>();
  private GateChain gates = GateChain.standard();
  private KeyCertOptions keyCert;
  private Set<String> serverNames = new LinkedHashSet<>();
  private java.util.concurrent.atomic.AtomicReference<Set<String>> aliasNames =
      new java.util.concurrent.atomic.AtomicReference<>(Set.of());
  private long backendConnectTimeoutMillis = DEFAULT_BACKEND_CONNECT_TIMEOUT_MILLIS;
  private long backendResponseTimeoutMillis = DEFAULT_BACKEND_RESPONSE_TIMEOUT_MILLIS;
  private long proxyHeaderTimeoutMillis = DEFAULT_PROXY_HEADER_TIMEOUT_MILLIS;
  private long tlsHandshakeTimeoutMillis = DEFAULT_TLS_HANDSHAKE_TIMEOUT_MILLIS;
  private int idleTimeoutSeconds = DEFAULT_IDLE_TIMEOUT_SECONDS;
  private int maxBackendConnections = DEFAULT_MAX_BACKEND_CONNECTIONS;
  private long certReloadCheckMillis = DEFAULT_CERT_RELOAD_CHECK_MILLIS;
  private int maxHttp10BufferBytes = DEFAULT_MAX_HTTP10_BUFFER_BYTES;
  private int maxEarlyBytes = DEFAULT_MAX_EARLY_BYTES;
  private int eventLoops = DEFAULT_EVENT_LOOPS;
  private int http2StreamWindowBytes = DEFAULT_HTTP2_STREAM_WINDOW_BYTES;
  private int http2ConnectionWindowBytes = DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES;

  public TerminatorOptions() {
  }

  public TerminatorOptions(TerminatorOptions other) {
    this.bindHost = other.bindHost;
    this.socketDir = other.socketDir;
    this.routes = new LinkedHashMap<>(other.routes);
    this.gates = other.gates;
    this.keyCert = other.keyCert == null ? null : other.keyCert.copy();
    this.serverNames = new LinkedHashSet<>(other.serverNames);
    this.aliasNames = other.aliasNames;   // shared: a change reaches every replica
    this.backendConnectTimeoutMillis = other.backendConnectTimeoutMillis;
    this.backendResponseTimeoutMillis = other.backendResponseTimeoutMillis;
    this.proxyHeaderTimeoutMillis = other.proxyHeaderTimeoutMillis;
    this.tlsHandshakeTimeoutMillis = other.tlsHandshakeTimeoutMillis;
    this.idleTimeoutSeconds = other.idleTimeoutSeconds;
    this.maxBackendConnections = other.maxBackendConnections;
    this.certReloadCheckMillis = other.certReloadCheckMillis;
    this.maxHttp10BufferBytes = other.maxHttp10BufferBytes;
    this.maxEarlyBytes = other.maxEarlyBytes;
    this.eventLoops = other.eventLoops;
  }

  /** Reads the JSON form written by {@link #toJson()}; {@code targets} maps a port to a target URL. */
  public TerminatorOptions(JsonObject json) {
    this.bindHost = json.getString("bindHost", DEFAULT_BIND_HOST);
    if (json.containsKey("routes")) {
      setRoutes(ServeConfig.fromJson(json.getJsonArray("routes")).ports());
    } else {
      JsonObject t = json.getJsonObject("targets", new JsonObject());
      Map<Integer, ServeTarget> parsed = new LinkedHashMap<>();
      for (String port : t.fieldNames()) {
        parsed.put(Integer.parseInt(port), ServeTarget.parse(t.getString(port)));
      }
      setTargets(parsed);
    }
    Set<String> names = new LinkedHashSet<>();
    for (Object name : json.getJsonArray("serverNames", new JsonArray())) {
      names.add(String.valueOf(name));
    }
    setServerNames(names);
    this.backendConnectTimeoutMillis = json.getLong("backendConnectTimeoutMillis", DEFAULT_BACKEND_CONNECT_TIMEOUT_MILLIS);
    this.backendResponseTimeoutMillis = json.getLong("backendResponseTimeoutMillis", DEFAULT_BACKEND_RESPONSE_TIMEOUT_MILLIS);
    this.proxyHeaderTimeoutMillis = json.getLong("proxyHeaderTimeoutMillis", DEFAULT_PROXY_HEADER_TIMEOUT_MILLIS);
    this.tlsHandshakeTimeoutMillis = json.getLong("tlsHandshakeTimeoutMillis", DEFAULT_TLS_HANDSHAKE_TIMEOUT_MILLIS);
    this.idleTimeoutSeconds = json.getInteger("idleTimeoutSeconds", DEFAULT_IDLE_TIMEOUT_SECONDS);
    this.maxBackendConnections = json.getInteger("maxBackendConnections", DEFAULT_MAX_BACKEND_CONNECTIONS);
    this.certReloadCheckMillis = json.getLong("certReloadCheckMillis", DEFAULT_CERT_RELOAD_CHECK_MILLIS);
    this.maxHttp10BufferBytes = json.getInteger("maxHttp10BufferBytes", DEFAULT_MAX_HTTP10_BUFFER_BYTES);
    this.maxEarlyBytes = json.getInteger("maxEarlyBytes", DEFAULT_MAX_EARLY_BYTES);
    setEventLoops(json.getInteger("eventLoops", DEFAULT_EVENT_LOOPS));
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("bindHost", bindHost)
        .put("routes", new ServeConfig(new java.util.TreeMap<>(routes)).toJson())
        .put("serverNames", new JsonArray(java.util.List.copyOf(serverNames)))
        .put("backendConnectTimeoutMillis", backendConnectTimeoutMillis)
        .put("backendResponseTimeoutMillis", backendResponseTimeoutMillis)
        .put("proxyHeaderTimeoutMillis", proxyHeaderTimeoutMillis)
        .put("tlsHandshakeTimeoutMillis", tlsHandshakeTimeoutMillis)
        .put("idleTimeoutSeconds", idleTimeoutSeconds)
        .put("maxBackendConnections", maxBackendConnections)
        .put("certReloadCheckMillis", certReloadCheckMillis)
        .put("maxHttp10BufferBytes", maxHttp10BufferBytes)
        .put("maxEarlyBytes", maxEarlyBytes)
        .put("eventLoops", eventLoops);
  }

  public String getBindHost() { return bindHost; }
  public TerminatorOptions setBindHost(String bindHost) { this.bindHost = bindHost; return this; }

  /**
   * Serve each port on a Unix domain socket in this directory instead of loopback TCP (the node's
   * agent, in the same process, is the only client: no TCP stack, no port). A port whose socket
   * path would be too long for the platform falls back to TCP. Null (the default): TCP.
   */
  public java.nio.file.Path getSocketDir() { return socketDir; }
  public TerminatorOptions setSocketDir(java.nio.file.Path dir) { this.socketDir = dir; return this; }

  /**
   * Public port → its target: the one target of a {@code tls-terminated-tcp://} port, the {@code /}
   * route's (or first route's) target of an HTTP port ({@link ServePort#agentTarget()}). Read-only view.
   */
  public Map<Integer, ServeTarget> getTargets() {
    Map<Integer, ServeTarget> out = new LinkedHashMap<>();
    routes.forEach((port, p) -> out.put(port, p.agentTarget()));
    return java.util.Collections.unmodifiableMap(out);
  }

  /** One {@code /} route per port, no gates; throws IllegalArgumentException for a {@code tcp://} target. */
  public TerminatorOptions setTargets(Map<Integer, ServeTarget> targets) {
    Map<Integer, ServePort> out = new LinkedHashMap<>();
    targets.forEach((port, target) -> out.put(port, ServePort.of(port, target)));
    return setRoutes(out);
  }

  /** Public port → what it serves (routes and gates). Only ports whose TLS the terminator ends. */
  public Map<Integer, ServePort> getRoutes() { return routes; }

  /** Throws IllegalArgumentException for a {@code tcp://} port: it is passed through, not terminated. */
  public TerminatorOptions setRoutes(Map<Integer, ServePort> routes) {
    for (Map.Entry<Integer, ServePort> e : routes.entrySet()) {
      ServeTarget target = e.getValue().agentTarget();
      if (!target.kind().terminatesTls()) {
        throw new IllegalArgumentException("port " + e.getKey() + ": " + target
            + " is passed through, not terminated; it does not belong to the terminator");
      }
    }
    this.routes = new LinkedHashMap<>(routes);
    return this;
  }

  /** Builds each route's gate handlers; {@link GateChain#standard()} unless set (not in the JSON form). */
  public GateChain getGates() { return gates; }
  public TerminatorOptions setGates(GateChain gates) { this.gates = gates; return this; }

  /** The node's certificate and key. */
  public KeyCertOptions getKeyCert() { return keyCert; }
  public TerminatorOptions setKeyCert(KeyCertOptions keyCert) { this.keyCert = keyCert; return this; }

  /** The node's public names: an HTTP request for any other authority gets {@code 421}. Stored lower case. */
  public Set<String> getServerNames() { return serverNames; }
  public TerminatorOptions setServerNames(Set<String> serverNames) {
    Set<String> normalised = new LinkedHashSet<>();
    for (String name : serverNames) {
      normalised.add(normaliseName(name));
    }
    this.serverNames = normalised;
    return this;
  }

  /**
   * The node's verified custom domains, served like its public names; changed at run time
   * ({@link TerminatorVerticle#updateAliasNames}) and shared by copies of these options.
   */
  public Set<String> getAliasNames() { return aliasNames.get(); }
  public TerminatorOptions setAliasNames(Set<String> names) {
    Set<String> normalised = new LinkedHashSet<>();
    for (String name : names) {
      normalised.add(normaliseName(name));
    }
    aliasNames.set(Set.copyOf(normalised));
    return this;
  }

  /** True when {@code host} (lower case) is one of the node's names or verified aliases. */
  public boolean serves(String host) {
    return serverNames.contains(host) || aliasNames.get().contains(host);
  }

  public long getBackendConnectTimeoutMillis() { return backendConnectTimeoutMillis; }
  public TerminatorOptions setBackendConnectTimeoutMillis(long millis) { this.backendConnectTimeoutMillis = millis; return this; }
  public long getBackendResponseTimeoutMillis() { return backendResponseTimeoutMillis; }
  public TerminatorOptions setBackendResponseTimeoutMillis(long millis) { this.backendResponseTimeoutMillis = millis; return this; }
  public long getProxyHeaderTimeoutMillis() { return proxyHeaderTimeoutMillis; }
  public TerminatorOptions setProxyHeaderTimeoutMillis(long millis) { this.proxyHeaderTimeoutMillis = millis; return this; }
  public long getTlsHandshakeTimeoutMillis() { return tlsHandshakeTimeoutMillis; }
  public TerminatorOptions setTlsHandshakeTimeoutMillis(long millis) { this.tlsHandshakeTimeoutMillis = millis; return this; }
  public int getIdleTimeoutSeconds() { return idleTimeoutSeconds; }
  public TerminatorOptions setIdleTimeoutSeconds(int seconds) { this.idleTimeoutSeconds = seconds; return this; }
  public int getMaxBackendConnections() { return maxBackendConnections; }
  public TerminatorOptions setMaxBackendConnections(int n) { this.maxBackendConnections = n; return this; }
  public long getCertReloadCheckMillis() { return certReloadCheckMillis; }
  public TerminatorOptions setCertReloadCheckMillis(long millis) { this.certReloadCheckMillis = millis; return this; }
  public int getMaxHttp10BufferBytes() { return maxHttp10BufferBytes; }
  public TerminatorOptions setMaxHttp10BufferBytes(int bytes) { this.maxHttp10BufferBytes = bytes; return this; }
  public int getMaxEarlyBytes() { return maxEarlyBytes; }
  public TerminatorOptions setMaxEarlyBytes(int bytes) { this.maxEarlyBytes = bytes; return this; }
  public int getHttp2StreamWindowBytes() { return http2StreamWindowBytes; }
  public TerminatorOptions setHttp2StreamWindowBytes(int bytes) { this.http2StreamWindowBytes = bytes; return this; }
  public int getHttp2ConnectionWindowBytes() { return http2ConnectionWindowBytes; }
  public TerminatorOptions setHttp2ConnectionWindowBytes(int bytes) {
    this.http2ConnectionWindowBytes = bytes;
    return this;
  }
  public int getEventLoops() { return eventLoops; }
  /** At least 1. */
  public TerminatorOptions setEventLoops(int eventLoops) {
    if (eventLoops < 1) {
      throw new IllegalArgumentException("eventLoops must be at least 1, not " + eventLoops);
    }
    this.eventLoops = eventLoops;
    return this;
  }

  /** Lower case, one trailing dot removed: how names are compared with a request's authority. */
  static String normaliseName(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }
}
