package dev.funnel.dns;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Options of the public DNS service. Every bound has a named default. Addresses are IP literals;
 * names are written without a trailing dot. {@link Zone#of} checks them all.
 */
public class DnsOptions {

  /** The usual development listener ({@code --dns-listen 127.0.0.1:5353}); production binds port 53. */
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 5353;
  /** TTL of A/AAAA answers, and of "no such name" (the SOA minimum), so a name going public is seen within it. */
  public static final long DEFAULT_ADDRESS_TTL = 60;
  /** TTL of SOA, NS and CAA at the apex. */
  public static final long DEFAULT_ZONE_TTL = 3600;
  /** Largest UDP answer whatever a client advertises (the DNS flag day 2020 size: no fragmentation). */
  public static final int DEFAULT_MAX_UDP_PAYLOAD = 1232;
  /** Answers per second one source prefix (/24, /56) may get over UDP, and the burst above it. */
  public static final int DEFAULT_RATE_LIMIT = 20;
  public static final int DEFAULT_RATE_BURST = 40;
  /** Every Nth over-limit query gets an empty truncated answer (a real client retries over TCP); 0: drop all. */
  public static final int DEFAULT_RATE_SLIP = 2;
  /** Source prefixes the limiter remembers; past it, idle ones are forgotten first. */
  public static final int DEFAULT_RATE_MAX_SOURCES = 65_536;
  /** A TCP connection that sends nothing for this long is closed. */
  public static final long DEFAULT_TCP_IDLE_MILLIS = 10_000;
  /** Bytes a TCP connection may have buffered (partial queries); more closes it. */
  public static final int DEFAULT_TCP_MAX_BUFFER = 4096;
  /** Queries one TCP connection may have waiting on an answer; more closes it. */
  public static final int DEFAULT_TCP_MAX_PENDING = 16;
  /** TCP connections open at once; more are closed at accept. */
  public static final int DEFAULT_TCP_MAX_CONNECTIONS = 512;
  /** A name lookup at the registry fails (SERVFAIL) after this. */
  public static final long DEFAULT_LOOKUP_TIMEOUT_MILLIS = 2_000;
  /** A looked-up name is kept this long (route changes drop it sooner). */
  public static final long DEFAULT_CACHE_MILLIS = 10_000;
  /** Names cached at once. */
  public static final int DEFAULT_CACHE_MAX_NAMES = 10_000;
  /** {@code _acme-challenge} names held at once, and values per name. */
  public static final int DEFAULT_MAX_CHALLENGES = 10_000;
  public static final int MAX_CHALLENGE_VALUES = 8;
  public static final List<String> DEFAULT_CAA_ISSUERS = List.of("letsencrypt.org");

  private String host = DEFAULT_HOST;
  private int port = DEFAULT_PORT;
  private String domain = "funnel.localhost";
  private List<String> nameservers = List.of();
  private Map<String, List<String>> nameserverAddresses = Map.of();
  private String hostmaster;
  private Map<String, List<String>> frontends = Map.of();
  private Map<String, String> gatewayRegions = Map.of();
  private List<String> caaIssuers = DEFAULT_CAA_ISSUERS;
  private long addressTtl = DEFAULT_ADDRESS_TTL;
  private long zoneTtl = DEFAULT_ZONE_TTL;
  private int maxUdpPayload = DEFAULT_MAX_UDP_PAYLOAD;
  private int rateLimit = DEFAULT_RATE_LIMIT;
  private int rateBurst = DEFAULT_RATE_BURST;
  private int rateSlip = DEFAULT_RATE_SLIP;
  private int rateMaxSources = DEFAULT_RATE_MAX_SOURCES;
  private long tcpIdleMillis = DEFAULT_TCP_IDLE_MILLIS;
  private int tcpMaxBuffer = DEFAULT_TCP_MAX_BUFFER;
  private int tcpMaxPending = DEFAULT_TCP_MAX_PENDING;
  private int tcpMaxConnections = DEFAULT_TCP_MAX_CONNECTIONS;
  private long lookupTimeoutMillis = DEFAULT_LOOKUP_TIMEOUT_MILLIS;
  private long cacheMillis = DEFAULT_CACHE_MILLIS;
  private int cacheMaxNames = DEFAULT_CACHE_MAX_NAMES;
  private int maxChallenges = DEFAULT_MAX_CHALLENGES;

  /** Listen address, UDP and TCP on the same port (0: an ephemeral port, the same for both). */
  public String getHost() { return host; }
  public DnsOptions setHost(String host) { this.host = host; return this; }
  public int getPort() { return port; }
  public DnsOptions setPort(int port) { this.port = port; return this; }
  /** The zone: the base domain. */
  public String getDomain() { return domain; }
  public DnsOptions setDomain(String domain) { this.domain = domain; return this; }
  /** NS names at the apex, primary first (default: {@code ns1.DOMAIN}). */
  public List<String> getNameservers() { return nameservers; }
  public DnsOptions setNameservers(List<String> nameservers) { this.nameservers = List.copyOf(nameservers); return this; }
  /** Addresses of in-zone NS names (their A/AAAA and glue). */
  public Map<String, List<String>> getNameserverAddresses() { return nameserverAddresses; }
  public DnsOptions setNameserverAddresses(Map<String, List<String>> addresses) { this.nameserverAddresses = copy(addresses); return this; }
  /** The SOA's mailbox as a name (default: {@code hostmaster.DOMAIN}). */
  public String getHostmaster() { return hostmaster; }
  public DnsOptions setHostmaster(String hostmaster) { this.hostmaster = hostmaster; return this; }
  /** Region → the public addresses of its frontends; region "" holds addresses given without one. */
  public Map<String, List<String>> getFrontends() { return frontends; }
  public DnsOptions setFrontends(Map<String, List<String>> frontends) { this.frontends = copy(frontends); return this; }
  /** Gateway id → region: a node's name answers with the frontends of its gateway's region. */
  public Map<String, String> getGatewayRegions() { return gatewayRegions; }
  public DnsOptions setGatewayRegions(Map<String, String> regions) { this.gatewayRegions = Map.copyOf(regions); return this; }
  /** CAA {@code issue} values at the apex; empty: no CAA records. */
  public List<String> getCaaIssuers() { return caaIssuers; }
  public DnsOptions setCaaIssuers(List<String> issuers) { this.caaIssuers = List.copyOf(issuers); return this; }
  public long getAddressTtl() { return addressTtl; }
  public DnsOptions setAddressTtl(long seconds) { this.addressTtl = seconds; return this; }
  public long getZoneTtl() { return zoneTtl; }
  public DnsOptions setZoneTtl(long seconds) { this.zoneTtl = seconds; return this; }
  public int getMaxUdpPayload() { return maxUdpPayload; }
  public DnsOptions setMaxUdpPayload(int bytes) { this.maxUdpPayload = bytes; return this; }
  /** Answers per second per source prefix over UDP; 0 turns rate limiting off. */
  public int getRateLimit() { return rateLimit; }
  public DnsOptions setRateLimit(int perSecond) { this.rateLimit = perSecond; return this; }
  public int getRateBurst() { return rateBurst; }
  public DnsOptions setRateBurst(int burst) { this.rateBurst = burst; return this; }
  public int getRateSlip() { return rateSlip; }
  public DnsOptions setRateSlip(int slip) { this.rateSlip = slip; return this; }
  public int getRateMaxSources() { return rateMaxSources; }
  public DnsOptions setRateMaxSources(int sources) { this.rateMaxSources = sources; return this; }
  public long getTcpIdleMillis() { return tcpIdleMillis; }
  public DnsOptions setTcpIdleMillis(long millis) { this.tcpIdleMillis = millis; return this; }
  public int getTcpMaxBuffer() { return tcpMaxBuffer; }
  public DnsOptions setTcpMaxBuffer(int bytes) { this.tcpMaxBuffer = bytes; return this; }
  public int getTcpMaxPending() { return tcpMaxPending; }
  public DnsOptions setTcpMaxPending(int pending) { this.tcpMaxPending = pending; return this; }
  public int getTcpMaxConnections() { return tcpMaxConnections; }
  public DnsOptions setTcpMaxConnections(int connections) { this.tcpMaxConnections = connections; return this; }
  public long getLookupTimeoutMillis() { return lookupTimeoutMillis; }
  public DnsOptions setLookupTimeoutMillis(long millis) { this.lookupTimeoutMillis = millis; return this; }
  public long getCacheMillis() { return cacheMillis; }
  public DnsOptions setCacheMillis(long millis) { this.cacheMillis = millis; return this; }
  public int getCacheMaxNames() { return cacheMaxNames; }
  public DnsOptions setCacheMaxNames(int names) { this.cacheMaxNames = names; return this; }
  public int getMaxChallenges() { return maxChallenges; }
  public DnsOptions setMaxChallenges(int names) { this.maxChallenges = names; return this; }

  private static Map<String, List<String>> copy(Map<String, List<String>> in) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    in.forEach((k, v) -> out.put(k, List.copyOf(v)));
    return java.util.Collections.unmodifiableMap(out);
  }
}
