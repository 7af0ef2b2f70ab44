package dev.funnel.common.options;

import dev.funnel.common.net.HostPort;
import java.util.LinkedHashMap;
import java.util.Map;

/** Options of the SNI frontend. Every wait is bounded, with a named default. */
public class FrontendOptions {

  public static final String DEFAULT_DOMAIN = "funnel.localhost";
  public static final int DEFAULT_MAX_HELLO_BYTES = 16 * 1024;
  public static final long DEFAULT_HELLO_TIMEOUT_MILLIS = 10_000;
  public static final long DEFAULT_RESOLVE_TIMEOUT_MILLIS = 3_000;
  /** Longer than a link dial plus the gateway's wait for the node's answer to its offer. */
  public static final long DEFAULT_OPEN_TIMEOUT_MILLIS = 12_000;
  /** A cached route is trusted this long even if a change event was missed. */
  public static final long DEFAULT_ROUTE_CACHE_MILLIS = 5_000;
  public static final long DEFAULT_IDLE_TIMEOUT_SECONDS = 3600;
  /** Dialling a gateway's link (TCP + mutual TLS) is bounded by this. */
  public static final long DEFAULT_LINK_DIAL_TIMEOUT_MILLIS = 3_000;
  /** Link connections a frontend keeps to each gateway in another process. */
  public static final int DEFAULT_LINKS_PER_GATEWAY = 2;
  /**
   * Public connections open at once in this frontend (reading, routing or spliced); beyond it new
   * ones are closed at accept. Well under the process's file-descriptor limit: a tunnel in one JVM
   * holds one descriptor (the client's; the node's side is a stream on a shared link connection).
   */
  public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
  /** Connections one source (an IPv4 address, or an IPv6 /64) may hold open at once. */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 256;
  /** New connections per second one source may open, sustained (token bucket refill rate). */
  public static final double DEFAULT_SOURCE_RATE_PER_SECOND = 20;
  /** New connections one source may open in a burst (token bucket size). */
  public static final int DEFAULT_SOURCE_BURST = 100;
  /** Sources whose rate is remembered; the least recently seen is forgotten first. */
  public static final int DEFAULT_MAX_TRACKED_SOURCES = 65_536;
  /** Idle seconds before the first TCP keepalive probe on a public connection (0: the kernel's default). */
  public static final int DEFAULT_KEEPALIVE_IDLE_SECONDS = 300;
  /** Bytes per second all tunnels of one tailnet may carry each way (0: unlimited); shaped, never dropped. */
  public static final long DEFAULT_TAILNET_BYTES_PER_SECOND = 0;
  /**
   * On a clean stop (SIGTERM, Ctrl-C), the frontend stops accepting and gives the public connections
   * it holds this long to end before it closes them (0: closed at once). A download or upload in
   * flight during a deploy finishes instead of being cut; idle keep-alive connections are cut at
   * the end, as before.
   */
  public static final long DEFAULT_DRAIN_TIMEOUT_SECONDS = 10;

  private String frontendId = "frontend-1";
  private String domain = DEFAULT_DOMAIN;
  private Map<Integer, HostPort> publicListeners = new LinkedHashMap<>(Map.of(443, new HostPort("127.0.0.1", 8443)));
  private int maxHelloBytes = DEFAULT_MAX_HELLO_BYTES;
  private long helloTimeoutMillis = DEFAULT_HELLO_TIMEOUT_MILLIS;
  private long resolveTimeoutMillis = DEFAULT_RESOLVE_TIMEOUT_MILLIS;
  private long openTimeoutMillis = DEFAULT_OPEN_TIMEOUT_MILLIS;
  private long routeCacheMillis = DEFAULT_ROUTE_CACHE_MILLIS;
  private long idleTimeoutSeconds = DEFAULT_IDLE_TIMEOUT_SECONDS;
  private boolean accessLog = true;
  private long linkDialTimeoutMillis = DEFAULT_LINK_DIAL_TIMEOUT_MILLIS;
  private int linksPerGateway = DEFAULT_LINKS_PER_GATEWAY;
  private io.vertx.core.net.KeyCertOptions linkKeyCert;
  private io.vertx.core.net.TrustOptions linkTrust;
  private int maxConnections = DEFAULT_MAX_CONNECTIONS;
  private int maxConnectionsPerSource = DEFAULT_MAX_CONNECTIONS_PER_SOURCE;
  private double sourceRatePerSecond = DEFAULT_SOURCE_RATE_PER_SECOND;
  private int sourceBurst = DEFAULT_SOURCE_BURST;
  private int maxTrackedSources = DEFAULT_MAX_TRACKED_SOURCES;
  private int keepAliveIdleSeconds = DEFAULT_KEEPALIVE_IDLE_SECONDS;
  private long tailnetBytesPerSecond = DEFAULT_TAILNET_BYTES_PER_SECOND;
  private long drainTimeoutSeconds = DEFAULT_DRAIN_TIMEOUT_SECONDS;

  public String getFrontendId() { return frontendId; }
  public FrontendOptions setFrontendId(String frontendId) { this.frontendId = frontendId; return this; }
  public String getDomain() { return domain; }
  public FrontendOptions setDomain(String domain) { this.domain = domain; return this; }
  /** Public port (443, 8443, 10000) → the local address it is bound to. */
  public Map<Integer, HostPort> getPublicListeners() { return publicListeners; }
  public FrontendOptions setPublicListeners(Map<Integer, HostPort> publicListeners) { this.publicListeners = new LinkedHashMap<>(publicListeners); return this; }
  public int getMaxHelloBytes() { return maxHelloBytes; }
  public FrontendOptions setMaxHelloBytes(int maxHelloBytes) { this.maxHelloBytes = maxHelloBytes; return this; }
  public long getHelloTimeoutMillis() { return helloTimeoutMillis; }
  public FrontendOptions setHelloTimeoutMillis(long helloTimeoutMillis) { this.helloTimeoutMillis = helloTimeoutMillis; return this; }
  public long getResolveTimeoutMillis() { return resolveTimeoutMillis; }
  public FrontendOptions setResolveTimeoutMillis(long resolveTimeoutMillis) { this.resolveTimeoutMillis = resolveTimeoutMillis; return this; }
  public long getOpenTimeoutMillis() { return openTimeoutMillis; }
  public FrontendOptions setOpenTimeoutMillis(long openTimeoutMillis) { this.openTimeoutMillis = openTimeoutMillis; return this; }
  public long getRouteCacheMillis() { return routeCacheMillis; }
  public FrontendOptions setRouteCacheMillis(long routeCacheMillis) { this.routeCacheMillis = routeCacheMillis; return this; }
  /** See {@link #DEFAULT_DRAIN_TIMEOUT_SECONDS}. */
  public long getDrainTimeoutSeconds() { return drainTimeoutSeconds; }
  public FrontendOptions setDrainTimeoutSeconds(long drainTimeoutSeconds) { this.drainTimeoutSeconds = drainTimeoutSeconds; return this; }
  public long getIdleTimeoutSeconds() { return idleTimeoutSeconds; }
  public FrontendOptions setIdleTimeoutSeconds(long idleTimeoutSeconds) { this.idleTimeoutSeconds = idleTimeoutSeconds; return this; }
  public boolean isAccessLog() { return accessLog; }
  public FrontendOptions setAccessLog(boolean accessLog) { this.accessLog = accessLog; return this; }
  /** See {@link #DEFAULT_MAX_CONNECTIONS}. */
  public int getMaxConnections() { return maxConnections; }
  public FrontendOptions setMaxConnections(int maxConnections) { this.maxConnections = maxConnections; return this; }
  /** See {@link #DEFAULT_MAX_CONNECTIONS_PER_SOURCE}. */
  public int getMaxConnectionsPerSource() { return maxConnectionsPerSource; }
  public FrontendOptions setMaxConnectionsPerSource(int n) { this.maxConnectionsPerSource = n; return this; }
  /** See {@link #DEFAULT_SOURCE_RATE_PER_SECOND}. */
  public double getSourceRatePerSecond() { return sourceRatePerSecond; }
  public FrontendOptions setSourceRatePerSecond(double rate) { this.sourceRatePerSecond = rate; return this; }
  /** See {@link #DEFAULT_SOURCE_BURST}. */
  public int getSourceBurst() { return sourceBurst; }
  public FrontendOptions setSourceBurst(int sourceBurst) { this.sourceBurst = sourceBurst; return this; }
  /** See {@link #DEFAULT_MAX_TRACKED_SOURCES}. */
  public int getMaxTrackedSources() { return maxTrackedSources; }
  public FrontendOptions setMaxTrackedSources(int n) { this.maxTrackedSources = n; return this; }
  /** See {@link #DEFAULT_KEEPALIVE_IDLE_SECONDS}. */
  public int getKeepAliveIdleSeconds() { return keepAliveIdleSeconds; }
  public FrontendOptions setKeepAliveIdleSeconds(int seconds) { this.keepAliveIdleSeconds = seconds; return this; }
  /** See {@link #DEFAULT_TAILNET_BYTES_PER_SECOND}. */
  public long getTailnetBytesPerSecond() { return tailnetBytesPerSecond; }
  public FrontendOptions setTailnetBytesPerSecond(long bytesPerSecond) { this.tailnetBytesPerSecond = bytesPerSecond; return this; }
  public long getLinkDialTimeoutMillis() { return linkDialTimeoutMillis; }
  public FrontendOptions setLinkDialTimeoutMillis(long millis) { this.linkDialTimeoutMillis = millis; return this; }
  public int getLinksPerGateway() { return linksPerGateway; }
  public FrontendOptions setLinksPerGateway(int n) { this.linksPerGateway = n; return this; }
  /** The client certificate this frontend presents on gateway links (issued by the cluster's CA); null: no links to other processes. */
  public io.vertx.core.net.KeyCertOptions getLinkKeyCert() { return linkKeyCert; }
  public FrontendOptions setLinkKeyCert(io.vertx.core.net.KeyCertOptions keyCert) { this.linkKeyCert = keyCert; return this; }
  /** The CA gateways' link certificates must chain to. */
  public io.vertx.core.net.TrustOptions getLinkTrust() { return linkTrust; }
  public FrontendOptions setLinkTrust(io.vertx.core.net.TrustOptions trust) { this.linkTrust = trust; return this; }
}
