package dev.funnel.common.options;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.Links;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;

/** Options of the peerapi gateway. Every wait is bounded, with a named default. */
public class GatewayOptions {

  /** Link connections a gateway asks each node session for (the node's {@code --links} decides). */
  public static final int DEFAULT_LINKS_PER_NODE = 2;
  /** How long the node has to answer an ingress offer. */
  public static final long DEFAULT_OFFER_TIMEOUT_MILLIS = 5_000;
  public static final long DEFAULT_HEARTBEAT_MILLIS = 5_000;
  /** A control channel silent this long is dead. */
  public static final long DEFAULT_SESSION_TIMEOUT_MILLIS = 15_000;
  /** A new connection must say who it is (Hello / DataHello) within this. */
  public static final long DEFAULT_LOGIN_TIMEOUT_MILLIS = 10_000;
  /** Link connections one node session may hold open. */
  public static final int DEFAULT_MAX_LINKS_PER_NODE = 8;
  /** Concurrent tunnels one node may carry. */
  public static final int DEFAULT_MAX_TUNNELS_PER_NODE = 1024;
  /** On a clean stop, how long the tunnels it carries get to end once its nodes were told to log in elsewhere. */
  public static final long DEFAULT_DRAIN_TIMEOUT_SECONDS = 10;

  private String gatewayId = "gateway-1";
  private HostPort listen = new HostPort("127.0.0.1", 7443);
  private KeyCertOptions keyCert;
  private int linksPerNode = DEFAULT_LINKS_PER_NODE;
  private long offerTimeoutMillis = DEFAULT_OFFER_TIMEOUT_MILLIS;
  private long heartbeatMillis = DEFAULT_HEARTBEAT_MILLIS;
  private long sessionTimeoutMillis = DEFAULT_SESSION_TIMEOUT_MILLIS;
  private long loginTimeoutMillis = DEFAULT_LOGIN_TIMEOUT_MILLIS;
  private int maxLinksPerNode = DEFAULT_MAX_LINKS_PER_NODE;
  private int maxTunnelsPerNode = DEFAULT_MAX_TUNNELS_PER_NODE;
  private long drainTimeoutSeconds = DEFAULT_DRAIN_TIMEOUT_SECONDS;
  private long registryTimeoutMillis = 5_000;
  private int streamWindowBytes = Links.DEFAULT_STREAM_WINDOW_BYTES;
  private int connectionWindowBytes = Links.DEFAULT_CONNECTION_WINDOW_BYTES;
  private long pingIntervalMillis = Links.DEFAULT_PING_INTERVAL_MILLIS;
  private long deadAfterMillis = Links.DEFAULT_DEAD_AFTER_MILLIS;
  /** Where frontends in other processes open tunnels (HTTP/2 over mutual TLS); null: none. */
  private HostPort linkListen;
  private String linkAdvertiseHost;
  /** The CA frontends' client certificates must chain to (the cluster's CA). */
  private TrustOptions linkTrust;

  public String getGatewayId() { return gatewayId; }
  public GatewayOptions setGatewayId(String gatewayId) { this.gatewayId = gatewayId; return this; }
  public HostPort getListen() { return listen; }
  public GatewayOptions setListen(HostPort listen) { this.listen = listen; return this; }
  /** Certificate and key of the node listener and the frontend link. */
  public KeyCertOptions getKeyCert() { return keyCert; }
  public GatewayOptions setKeyCert(KeyCertOptions keyCert) { this.keyCert = keyCert; return this; }
  public int getLinksPerNode() { return linksPerNode; }
  public GatewayOptions setLinksPerNode(int n) { this.linksPerNode = n; return this; }
  public long getOfferTimeoutMillis() { return offerTimeoutMillis; }
  public GatewayOptions setOfferTimeoutMillis(long offerTimeoutMillis) { this.offerTimeoutMillis = offerTimeoutMillis; return this; }
  public long getHeartbeatMillis() { return heartbeatMillis; }
  public GatewayOptions setHeartbeatMillis(long heartbeatMillis) { this.heartbeatMillis = heartbeatMillis; return this; }
  public long getSessionTimeoutMillis() { return sessionTimeoutMillis; }
  public GatewayOptions setSessionTimeoutMillis(long sessionTimeoutMillis) { this.sessionTimeoutMillis = sessionTimeoutMillis; return this; }
  public long getLoginTimeoutMillis() { return loginTimeoutMillis; }
  public GatewayOptions setLoginTimeoutMillis(long loginTimeoutMillis) { this.loginTimeoutMillis = loginTimeoutMillis; return this; }
  public int getMaxLinksPerNode() { return maxLinksPerNode; }
  public GatewayOptions setMaxLinksPerNode(int n) { this.maxLinksPerNode = n; return this; }
  public int getMaxTunnelsPerNode() { return maxTunnelsPerNode; }
  public GatewayOptions setMaxTunnelsPerNode(int n) { this.maxTunnelsPerNode = n; return this; }
  public long getDrainTimeoutSeconds() { return drainTimeoutSeconds; }
  public GatewayOptions setDrainTimeoutSeconds(long seconds) { this.drainTimeoutSeconds = seconds; return this; }
  public long getRegistryTimeoutMillis() { return registryTimeoutMillis; }
  public GatewayOptions setRegistryTimeoutMillis(long registryTimeoutMillis) { this.registryTimeoutMillis = registryTimeoutMillis; return this; }
  public int getStreamWindowBytes() { return streamWindowBytes; }
  public GatewayOptions setStreamWindowBytes(int bytes) { this.streamWindowBytes = bytes; return this; }
  public int getConnectionWindowBytes() { return connectionWindowBytes; }
  public GatewayOptions setConnectionWindowBytes(int bytes) { this.connectionWindowBytes = bytes; return this; }
  public long getPingIntervalMillis() { return pingIntervalMillis; }
  public GatewayOptions setPingIntervalMillis(long millis) { this.pingIntervalMillis = millis; return this; }
  public long getDeadAfterMillis() { return deadAfterMillis; }
  public GatewayOptions setDeadAfterMillis(long millis) { this.deadAfterMillis = millis; return this; }
  public HostPort getLinkListen() { return linkListen; }
  public GatewayOptions setLinkListen(HostPort linkListen) { this.linkListen = linkListen; return this; }
  /** The host frontends dial for the link (when {@link #getLinkListen()} binds a wildcard). */
  public String getLinkAdvertiseHost() { return linkAdvertiseHost; }
  public GatewayOptions setLinkAdvertiseHost(String host) { this.linkAdvertiseHost = host; return this; }
  public TrustOptions getLinkTrust() { return linkTrust; }
  public GatewayOptions setLinkTrust(TrustOptions linkTrust) { this.linkTrust = linkTrust; return this; }
}
