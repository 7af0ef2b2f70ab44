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
  /** Longer than the gateway's wait for a data connection plus its wait for the node's answer. */
  public static final long DEFAULT_OPEN_TIMEOUT_MILLIS = 12_000;
  /** A cached route is trusted this long even if a change event was missed. */
  public static final long DEFAULT_ROUTE_CACHE_MILLIS = 5_000;
  public static final long DEFAULT_IDLE_TIMEOUT_SECONDS = 3600;

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
  public long getIdleTimeoutSeconds() { return idleTimeoutSeconds; }
  public FrontendOptions setIdleTimeoutSeconds(long idleTimeoutSeconds) { this.idleTimeoutSeconds = idleTimeoutSeconds; return this; }
  public boolean isAccessLog() { return accessLog; }
  public FrontendOptions setAccessLog(boolean accessLog) { this.accessLog = accessLog; return this; }
}
