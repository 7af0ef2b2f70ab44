package dev.funnel.common.options;

import dev.funnel.common.net.HostPort;
import io.vertx.core.net.TrustOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Options of the node agent (the device side). */
public class NodeOptions {

  public static final long DEFAULT_DIAL_TIMEOUT_MILLIS = 5_000;
  /** Link connections (HTTP/2, the node is the server) kept to each gateway a session is on. */
  public static final int DEFAULT_LINKS = 2;
  /** On a clean stop, how long the tunnels running get to end once the sessions ended. */
  public static final long DEFAULT_DRAIN_TIMEOUT_SECONDS = 10;
  /** The most link connections per session, whatever the gateway asks. */
  public static final int MAX_LINKS = 8;
  public static final long DEFAULT_BACKOFF_MIN_MILLIS = 500;
  public static final long DEFAULT_BACKOFF_MAX_MILLIS = 30_000;
  public static final long DEFAULT_LOCAL_DIAL_TIMEOUT_MILLIS = 5_000;
  /**
   * How often a running node logs in again after a refusal no retry can fix (a revoked key, the node
   * or its tailnet removed): slowly, in case the server's state is put back, not at the backoff's pace.
   */
  public static final long DEFAULT_REFUSED_RETRY_MILLIS = 300_000;
  /**
   * Once connected, the gateway must complete a login (Challenge, then Welcome or Refused) within
   * this; it also bounds a link connection's Challenge,
   * a ServeUpdate's answering Welcome, and a SignRequest's reply.
   */
  public static final long DEFAULT_LOGIN_TIMEOUT_MILLIS = 15_000;

  private List<HostPort> servers = new ArrayList<>();
  private int sessions = 1;
  private String authKey;
  private String hostname;
  private java.util.List<String> domainAliases = java.util.List.of();
  private TrustOptions trust;
  private Path stateDir = Path.of(".funnel-node");
  private Map<Integer, ServeTarget> serve = new LinkedHashMap<>();
  /** 0: none; 1 or 2: PROXY protocol version sent to {@code tcp://} targets. */
  private int proxyProtocol;
  private long dialTimeoutMillis = DEFAULT_DIAL_TIMEOUT_MILLIS;
  private long backoffMinMillis = DEFAULT_BACKOFF_MIN_MILLIS;
  private long backoffMaxMillis = DEFAULT_BACKOFF_MAX_MILLIS;
  private long refusedRetryMillis = DEFAULT_REFUSED_RETRY_MILLIS;
  private long localDialTimeoutMillis = DEFAULT_LOCAL_DIAL_TIMEOUT_MILLIS;
  private long loginTimeoutMillis = DEFAULT_LOGIN_TIMEOUT_MILLIS;
  private Map<Integer, HostPort> terminatorListeners = new LinkedHashMap<>();
  private Map<Integer, java.nio.file.Path> terminatorSockets = new LinkedHashMap<>();
  private int links = DEFAULT_LINKS;
  private int streamWindowBytes = dev.funnel.common.net.Links.DEFAULT_STREAM_WINDOW_BYTES;
  private int connectionWindowBytes = dev.funnel.common.net.Links.DEFAULT_CONNECTION_WINDOW_BYTES;
  private int maxConcurrentStreams = dev.funnel.common.net.Links.DEFAULT_MAX_CONCURRENT_STREAMS;
  private long pingIntervalMillis = dev.funnel.common.net.Links.DEFAULT_PING_INTERVAL_MILLIS;
  private long deadAfterMillis = dev.funnel.common.net.Links.DEFAULT_DEAD_AFTER_MILLIS;

  public List<HostPort> getServers() { return servers; }
  public NodeOptions setServers(List<HostPort> servers) { this.servers = new ArrayList<>(servers); return this; }
  public int getSessions() { return sessions; }
  public NodeOptions setSessions(int sessions) { this.sessions = sessions; return this; }
  public String getAuthKey() { return authKey; }
  public NodeOptions setAuthKey(String authKey) { this.authKey = authKey; return this; }
  /** Custom domains this node asks for ({@code --domain-alias}); routed once the registry verified them. */
  public java.util.List<String> getDomainAliases() { return domainAliases; }
  public NodeOptions setDomainAliases(java.util.List<String> aliases) {
    this.domainAliases = aliases == null ? java.util.List.of() : java.util.List.copyOf(aliases);
    return this;
  }
  public String getHostname() { return hostname; }
  public NodeOptions setHostname(String hostname) { this.hostname = hostname; return this; }
  /** Trust for the gateway's certificate (the server's CA). */
  public TrustOptions getTrust() { return trust; }
  public NodeOptions setTrust(TrustOptions trust) { this.trust = trust; return this; }
  public Path getStateDir() { return stateDir; }
  public NodeOptions setStateDir(Path stateDir) { this.stateDir = stateDir; return this; }
  /** Public port → target. */
  public Map<Integer, ServeTarget> getServe() { return serve; }
  public NodeOptions setServe(Map<Integer, ServeTarget> serve) { this.serve = new LinkedHashMap<>(serve); return this; }
  public int getProxyProtocol() { return proxyProtocol; }
  public NodeOptions setProxyProtocol(int proxyProtocol) { this.proxyProtocol = proxyProtocol; return this; }
  public long getDialTimeoutMillis() { return dialTimeoutMillis; }
  public NodeOptions setDialTimeoutMillis(long dialTimeoutMillis) { this.dialTimeoutMillis = dialTimeoutMillis; return this; }
  public long getBackoffMinMillis() { return backoffMinMillis; }
  public NodeOptions setBackoffMinMillis(long backoffMinMillis) { this.backoffMinMillis = backoffMinMillis; return this; }
  public long getBackoffMaxMillis() { return backoffMaxMillis; }
  public NodeOptions setBackoffMaxMillis(long backoffMaxMillis) { this.backoffMaxMillis = backoffMaxMillis; return this; }
  /** The wait before logging in again after a permanent refusal ({@link #DEFAULT_REFUSED_RETRY_MILLIS}). */
  public long getRefusedRetryMillis() { return refusedRetryMillis; }
  public NodeOptions setRefusedRetryMillis(long refusedRetryMillis) { this.refusedRetryMillis = refusedRetryMillis; return this; }
  /**
   * Public port → the loopback listener of this node's tls-terminator that serves it. Offers for a
   * port whose target terminates TLS go there, always with a PROXY v2 header carrying the client.
   */
  public Map<Integer, HostPort> getTerminatorListeners() { return terminatorListeners; }
  /** Public port → the Unix domain socket its terminator serves (in this process); such a port is dialled there, not over TCP. */
  public Map<Integer, java.nio.file.Path> getTerminatorSockets() { return terminatorSockets; }
  public NodeOptions setTerminatorSockets(Map<Integer, java.nio.file.Path> sockets) { this.terminatorSockets = new LinkedHashMap<>(sockets); return this; }
  public NodeOptions setTerminatorListeners(Map<Integer, HostPort> listeners) { this.terminatorListeners = new LinkedHashMap<>(listeners); return this; }
  public long getLocalDialTimeoutMillis() { return localDialTimeoutMillis; }
  public NodeOptions setLocalDialTimeoutMillis(long localDialTimeoutMillis) { this.localDialTimeoutMillis = localDialTimeoutMillis; return this; }
  /** See {@link #DEFAULT_LOGIN_TIMEOUT_MILLIS}. */
  public long getLoginTimeoutMillis() { return loginTimeoutMillis; }
  public NodeOptions setLoginTimeoutMillis(long loginTimeoutMillis) { this.loginTimeoutMillis = loginTimeoutMillis; return this; }
  /** Link connections per session ({@link #DEFAULT_LINKS}; 1 to {@link #MAX_LINKS}). */
  public int getLinks() { return links; }
  public NodeOptions setLinks(int links) { this.links = links; return this; }
  public int getStreamWindowBytes() { return streamWindowBytes; }
  public NodeOptions setStreamWindowBytes(int bytes) { this.streamWindowBytes = bytes; return this; }
  public int getConnectionWindowBytes() { return connectionWindowBytes; }
  public NodeOptions setConnectionWindowBytes(int bytes) { this.connectionWindowBytes = bytes; return this; }
  /** Streams (tunnels) one link connection carries at once (the node's SETTINGS_MAX_CONCURRENT_STREAMS). */
  public int getMaxConcurrentStreams() { return maxConcurrentStreams; }
  public NodeOptions setMaxConcurrentStreams(int n) { this.maxConcurrentStreams = n; return this; }
  public long getPingIntervalMillis() { return pingIntervalMillis; }
  public NodeOptions setPingIntervalMillis(long millis) { this.pingIntervalMillis = millis; return this; }
  public long getDeadAfterMillis() { return deadAfterMillis; }
  public NodeOptions setDeadAfterMillis(long millis) { this.deadAfterMillis = millis; return this; }
}
