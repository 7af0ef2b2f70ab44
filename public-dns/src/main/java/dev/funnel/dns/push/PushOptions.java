package dev.funnel.dns.push;

import java.util.Base64;
import org.xbill.DNS.TSIG;

/**
 * Options of the RFC 2136 pusher: where the primary is, which zone, the TSIG key, and its bounds.
 * Every bound has a named default. {@link #check()} says what is wrong. The secret is never logged.
 */
public class PushOptions {

  /** A change is pushed this long after the first event of a burst: events within it go in one push. */
  public static final long DEFAULT_COALESCE_MILLIS = 200;
  /** The first retry after a failure, and the cap the doubling stops at. */
  public static final long DEFAULT_RETRY_FIRST_MILLIS = 1_000;
  public static final long DEFAULT_RETRY_MAX_MILLIS = 30_000;
  /** The primary must answer an update within this. */
  public static final long DEFAULT_UPDATE_TIMEOUT_MILLIS = 10_000;
  /** A zone transfer (the resync's read of the zone) must finish within this. */
  public static final long DEFAULT_TRANSFER_TIMEOUT_MILLIS = 30_000;
  /** The registry must list the routable names within this. */
  public static final long DEFAULT_REGISTRY_TIMEOUT_MILLIS = 5_000;
  /** A full resync (transfer the zone, compare, fix) this often even when nothing failed: catches edits behind Funnel's back. */
  public static final long DEFAULT_RESYNC_MILLIS = 600_000;
  /** RRset changes per update message (each message is atomic at the primary and stays far below 64 KiB). */
  public static final int DEFAULT_CHANGES_PER_UPDATE = 100;
  public static final String DEFAULT_TSIG_ALGORITHM = "hmac-sha256";

  private String host;
  private int port = 53;
  private String zone;
  private String tsigName;
  private String tsigAlgorithm = DEFAULT_TSIG_ALGORITHM;
  private String tsigSecret;
  private long coalesceMillis = DEFAULT_COALESCE_MILLIS;
  private long retryFirstMillis = DEFAULT_RETRY_FIRST_MILLIS;
  private long retryMaxMillis = DEFAULT_RETRY_MAX_MILLIS;
  private long updateTimeoutMillis = DEFAULT_UPDATE_TIMEOUT_MILLIS;
  private long transferTimeoutMillis = DEFAULT_TRANSFER_TIMEOUT_MILLIS;
  private long registryTimeoutMillis = DEFAULT_REGISTRY_TIMEOUT_MILLIS;
  private long resyncMillis = DEFAULT_RESYNC_MILLIS;
  private int changesPerUpdate = DEFAULT_CHANGES_PER_UPDATE;

  /** The primary server (an IP literal or a host name, resolved once at start) and its port. */
  public String getHost() { return host; }
  public PushOptions setHost(String host) { this.host = host; return this; }
  public int getPort() { return port; }
  public PushOptions setPort(int port) { this.port = port; return this; }
  /** The zone the primary holds: the base domain, or a zone above it. */
  public String getZone() { return zone; }
  public PushOptions setZone(String zone) { this.zone = zone; return this; }
  public String getTsigName() { return tsigName; }
  public PushOptions setTsigName(String name) { this.tsigName = name; return this; }
  public String getTsigAlgorithm() { return tsigAlgorithm; }
  public PushOptions setTsigAlgorithm(String algorithm) { this.tsigAlgorithm = algorithm; return this; }
  /** The TSIG secret, base64. */
  public String getTsigSecret() { return tsigSecret; }
  public PushOptions setTsigSecret(String secret) { this.tsigSecret = secret; return this; }
  public long getCoalesceMillis() { return coalesceMillis; }
  public PushOptions setCoalesceMillis(long millis) { this.coalesceMillis = millis; return this; }
  public long getRetryFirstMillis() { return retryFirstMillis; }
  public PushOptions setRetryFirstMillis(long millis) { this.retryFirstMillis = millis; return this; }
  public long getRetryMaxMillis() { return retryMaxMillis; }
  public PushOptions setRetryMaxMillis(long millis) { this.retryMaxMillis = millis; return this; }
  public long getUpdateTimeoutMillis() { return updateTimeoutMillis; }
  public PushOptions setUpdateTimeoutMillis(long millis) { this.updateTimeoutMillis = millis; return this; }
  public long getTransferTimeoutMillis() { return transferTimeoutMillis; }
  public PushOptions setTransferTimeoutMillis(long millis) { this.transferTimeoutMillis = millis; return this; }
  public long getRegistryTimeoutMillis() { return registryTimeoutMillis; }
  public PushOptions setRegistryTimeoutMillis(long millis) { this.registryTimeoutMillis = millis; return this; }
  /** 0: no periodic resync (only at start and after a failure). */
  public long getResyncMillis() { return resyncMillis; }
  public PushOptions setResyncMillis(long millis) { this.resyncMillis = millis; return this; }
  public int getChangesPerUpdate() { return changesPerUpdate; }
  public PushOptions setChangesPerUpdate(int changes) { this.changesPerUpdate = changes; return this; }

  /** The TSIG key these options name (checked). */
  public TSIG tsig() {
    return new TSIG(TSIG.algorithmToName(tsigAlgorithm), ManagedRecords.absolute(ManagedRecords.key(tsigName)),
        tsigSecret);
  }

  /**
   * Throws {@link IllegalArgumentException} naming the first setting that is wrong; {@code domain} is
   * the base domain, which must be the zone or lie below it.
   */
  public PushOptions check(String domain) {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("the primary's address is empty");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("the primary's port must be within 1..65535, got " + port);
    }
    if (zone == null || zone.isBlank()) {
      throw new IllegalArgumentException("the zone is empty");
    }
    String z = ManagedRecords.key(zone);
    String d = ManagedRecords.key(domain);
    if (!d.equals(z) && !d.endsWith("." + z)) {
      throw new IllegalArgumentException("zone " + z + " does not hold the base domain " + d
          + " (give the base domain or a zone above it)");
    }
    if (tsigName == null || tsigName.isBlank()) {
      throw new IllegalArgumentException("the TSIG key name is empty");
    }
    try {
      TSIG.algorithmToName(tsigAlgorithm);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("TSIG algorithm '" + tsigAlgorithm + "' is not one of hmac-sha256, "
          + "hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5");
    }
    if (tsigSecret == null) {
      throw new IllegalArgumentException("the TSIG secret is missing");
    }
    try {
      Base64.getDecoder().decode(tsigSecret);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the TSIG secret is not base64");
    }
    if (coalesceMillis < 0 || retryFirstMillis < 1 || retryMaxMillis < retryFirstMillis || updateTimeoutMillis < 1
        || transferTimeoutMillis < 1 || registryTimeoutMillis < 1 || resyncMillis < 0 || changesPerUpdate < 1) {
      throw new IllegalArgumentException("push bounds must be positive (and the retry cap at least the first retry)");
    }
    try {
      tsig();
      ManagedRecords.absolute(z);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the zone or the TSIG key name is not a DNS name: " + e.getMessage());
    }
    return this;
  }
}
