package dev.funnel.common.options;

import dev.funnel.common.net.HostPort;
import io.vertx.core.net.KeyCertOptions;

/** Options of the peerapi gateway. Every wait is bounded, with a named default. */
public class GatewayOptions {

  public static final int DEFAULT_POOL_SIZE = 4;
  /** How long an open request waits for an idle data connection when the pool is empty. */
  public static final long DEFAULT_IDLE_WAIT_MILLIS = 5_000;
  /** How long the node has to answer an ingress offer. */
  public static final long DEFAULT_OFFER_TIMEOUT_MILLIS = 5_000;
  public static final long DEFAULT_HEARTBEAT_MILLIS = 5_000;
  /** A control channel silent this long is dead. */
  public static final long DEFAULT_SESSION_TIMEOUT_MILLIS = 15_000;
  /** A new connection must say who it is (Hello / DataHello) within this. */
  public static final long DEFAULT_LOGIN_TIMEOUT_MILLIS = 10_000;
  /** Idle plus in-flight data connections one node may hold open. */
  public static final int DEFAULT_MAX_DATA_CONNECTIONS_PER_NODE = 64;
  /** Concurrent tunnels one node may carry. */
  public static final int DEFAULT_MAX_TUNNELS_PER_NODE = 1024;
  /** A stream handed off in-JVM must be claimed by the frontend within this. */
  public static final long DEFAULT_HANDOFF_MILLIS = 5_000;
  /** A connection to the relay port must present its whole preamble within this. */
  public static final long DEFAULT_RELAY_PREAMBLE_TIMEOUT_MILLIS = 5_000;

  private String gatewayId = "gateway-1";
  private HostPort listen = new HostPort("127.0.0.1", 7443);
  private KeyCertOptions keyCert;
  private int poolSize = DEFAULT_POOL_SIZE;
  private long idleWaitMillis = DEFAULT_IDLE_WAIT_MILLIS;
  private long offerTimeoutMillis = DEFAULT_OFFER_TIMEOUT_MILLIS;
  private long heartbeatMillis = DEFAULT_HEARTBEAT_MILLIS;
  private long sessionTimeoutMillis = DEFAULT_SESSION_TIMEOUT_MILLIS;
  private long loginTimeoutMillis = DEFAULT_LOGIN_TIMEOUT_MILLIS;
  private int maxDataConnectionsPerNode = DEFAULT_MAX_DATA_CONNECTIONS_PER_NODE;
  private int maxTunnelsPerNode = DEFAULT_MAX_TUNNELS_PER_NODE;
  private long handoffMillis = DEFAULT_HANDOFF_MILLIS;
  private long registryTimeoutMillis = 5_000;
  private HostPort relayListen;
  private String relayAdvertiseHost;
  private long relayPreambleTimeoutMillis = DEFAULT_RELAY_PREAMBLE_TIMEOUT_MILLIS;

  public String getGatewayId() { return gatewayId; }
  public GatewayOptions setGatewayId(String gatewayId) { this.gatewayId = gatewayId; return this; }
  public HostPort getListen() { return listen; }
  public GatewayOptions setListen(HostPort listen) { this.listen = listen; return this; }
  /** The gateway's TLS certificate and key (nodes check it against their CA). */
  public KeyCertOptions getKeyCert() { return keyCert; }
  public GatewayOptions setKeyCert(KeyCertOptions keyCert) { this.keyCert = keyCert; return this; }
  public int getPoolSize() { return poolSize; }
  public GatewayOptions setPoolSize(int poolSize) { this.poolSize = poolSize; return this; }
  public long getIdleWaitMillis() { return idleWaitMillis; }
  public GatewayOptions setIdleWaitMillis(long idleWaitMillis) { this.idleWaitMillis = idleWaitMillis; return this; }
  public long getOfferTimeoutMillis() { return offerTimeoutMillis; }
  public GatewayOptions setOfferTimeoutMillis(long offerTimeoutMillis) { this.offerTimeoutMillis = offerTimeoutMillis; return this; }
  public long getHeartbeatMillis() { return heartbeatMillis; }
  public GatewayOptions setHeartbeatMillis(long heartbeatMillis) { this.heartbeatMillis = heartbeatMillis; return this; }
  public long getSessionTimeoutMillis() { return sessionTimeoutMillis; }
  public GatewayOptions setSessionTimeoutMillis(long sessionTimeoutMillis) { this.sessionTimeoutMillis = sessionTimeoutMillis; return this; }
  public long getLoginTimeoutMillis() { return loginTimeoutMillis; }
  public GatewayOptions setLoginTimeoutMillis(long loginTimeoutMillis) { this.loginTimeoutMillis = loginTimeoutMillis; return this; }
  public int getMaxDataConnectionsPerNode() { return maxDataConnectionsPerNode; }
  public GatewayOptions setMaxDataConnectionsPerNode(int n) { this.maxDataConnectionsPerNode = n; return this; }
  public int getMaxTunnelsPerNode() { return maxTunnelsPerNode; }
  public GatewayOptions setMaxTunnelsPerNode(int n) { this.maxTunnelsPerNode = n; return this; }
  public long getHandoffMillis() { return handoffMillis; }
  public GatewayOptions setHandoffMillis(long handoffMillis) { this.handoffMillis = handoffMillis; return this; }
  public long getRegistryTimeoutMillis() { return registryTimeoutMillis; }
  public GatewayOptions setRegistryTimeoutMillis(long registryTimeoutMillis) { this.registryTimeoutMillis = registryTimeoutMillis; return this; }
  /**
   * Where frontends in other processes fetch accepted streams (plain TCP, for cluster members only:
   * a one-time ticket is the only way in); null: no relay, every hand-off stays in this JVM. A
   * relay ticket lives {@link #getHandoffMillis()}, like an in-JVM hand-off.
   */
  public HostPort getRelayListen() { return relayListen; }
  public GatewayOptions setRelayListen(HostPort relayListen) { this.relayListen = relayListen; return this; }
  /** The host frontends dial for the relay (default: the relay's listen host). */
  public String getRelayAdvertiseHost() { return relayAdvertiseHost; }
  public GatewayOptions setRelayAdvertiseHost(String host) { this.relayAdvertiseHost = host; return this; }
  public long getRelayPreambleTimeoutMillis() { return relayPreambleTimeoutMillis; }
  public GatewayOptions setRelayPreambleTimeoutMillis(long millis) { this.relayPreambleTimeoutMillis = millis; return this; }
}
