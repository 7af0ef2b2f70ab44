package dev.funnel.common.options;

import dev.funnel.common.net.HostPort;
import java.nio.file.Path;
import java.util.List;

/** Options of the session registry. */
public class RegistryOptions {

  /** A route whose gateway stops renewing is withdrawn after this long. */
  public static final long DEFAULT_LEASE_MILLIS = 15_000;
  /** Clustered: a read or write of the shared session table fails after this. */
  public static final long DEFAULT_CLUSTER_TIMEOUT_MILLIS = 10_000;
  /** Failed admin-token attempts one source address may make in a row before it gets 429. */
  public static final int DEFAULT_ADMIN_AUTH_FAILURE_BURST = 10;
  /** After the burst, one more failed attempt is allowed per this long (6 a minute). */
  public static final long DEFAULT_ADMIN_AUTH_FAILURE_REFILL_MILLIS = 10_000;

  /** Custom domains are re-checked this often once verified (or failed). */
  public static final long DEFAULT_ALIAS_CHECK_INTERVAL_MILLIS = 5 * 60_000;
  /** Custom domains one node may have. */
  public static final int DEFAULT_MAX_ALIASES_PER_NODE = 10;
  /** Custom domains one tailnet may have. */
  public static final int DEFAULT_MAX_ALIASES_PER_TAILNET = 100;
  /** DNS lookups of alias checks in flight at once (each one a worker thread while it waits). */
  public static final int DEFAULT_MAX_ALIAS_LOOKUPS = 4;
  /** One DNS query of an alias check gives up after this. */
  public static final long DEFAULT_ALIAS_LOOKUP_TIMEOUT_MILLIS = 5_000;

  private String domain = FrontendOptions.DEFAULT_DOMAIN;
  private HostPort aliasResolver;
  private long aliasCheckIntervalMillis = DEFAULT_ALIAS_CHECK_INTERVAL_MILLIS;
  private int maxAliasesPerNode = DEFAULT_MAX_ALIASES_PER_NODE;
  private int maxAliasesPerTailnet = DEFAULT_MAX_ALIASES_PER_TAILNET;
  private int maxAliasLookups = DEFAULT_MAX_ALIAS_LOOKUPS;
  private long aliasLookupTimeoutMillis = DEFAULT_ALIAS_LOOKUP_TIMEOUT_MILLIS;
  private long leaseMillis = DEFAULT_LEASE_MILLIS;
  private long clusterTimeoutMillis = DEFAULT_CLUSTER_TIMEOUT_MILLIS;
  private Path stateDir = Path.of(".funnel");
  private HostPort adminListen = new HostPort("127.0.0.1", 7080);
  private int adminAuthFailureBurst = DEFAULT_ADMIN_AUTH_FAILURE_BURST;
  private long adminAuthFailureRefillMillis = DEFAULT_ADMIN_AUTH_FAILURE_REFILL_MILLIS;
  private OidcOptions consoleOidc;
  private List<String> consoleAllowEmails = List.of();

  public String getDomain() { return domain; }
  public RegistryOptions setDomain(String domain) { this.domain = domain; return this; }
  /** The recursive resolver custom domains are checked through; null: none (aliases stay pending). */
  public HostPort getAliasResolver() { return aliasResolver; }
  public RegistryOptions setAliasResolver(HostPort resolver) { this.aliasResolver = resolver; return this; }
  /** See {@link #DEFAULT_ALIAS_CHECK_INTERVAL_MILLIS}. */
  public long getAliasCheckIntervalMillis() { return aliasCheckIntervalMillis; }
  public RegistryOptions setAliasCheckIntervalMillis(long millis) { this.aliasCheckIntervalMillis = millis; return this; }
  /** See {@link #DEFAULT_MAX_ALIASES_PER_NODE}. */
  public int getMaxAliasesPerNode() { return maxAliasesPerNode; }
  public RegistryOptions setMaxAliasesPerNode(int max) { this.maxAliasesPerNode = max; return this; }
  /** See {@link #DEFAULT_MAX_ALIASES_PER_TAILNET}. */
  public int getMaxAliasesPerTailnet() { return maxAliasesPerTailnet; }
  public RegistryOptions setMaxAliasesPerTailnet(int max) { this.maxAliasesPerTailnet = max; return this; }
  /** See {@link #DEFAULT_MAX_ALIAS_LOOKUPS}. */
  public int getMaxAliasLookups() { return maxAliasLookups; }
  public RegistryOptions setMaxAliasLookups(int max) { this.maxAliasLookups = max; return this; }
  /** See {@link #DEFAULT_ALIAS_LOOKUP_TIMEOUT_MILLIS}. */
  public long getAliasLookupTimeoutMillis() { return aliasLookupTimeoutMillis; }
  public RegistryOptions setAliasLookupTimeoutMillis(long millis) { this.aliasLookupTimeoutMillis = millis; return this; }
  public long getLeaseMillis() { return leaseMillis; }
  public RegistryOptions setLeaseMillis(long leaseMillis) { this.leaseMillis = leaseMillis; return this; }
  /** Where the admin REST API listens. */
  public HostPort getAdminListen() { return adminListen; }
  public RegistryOptions setAdminListen(HostPort adminListen) { this.adminListen = adminListen; return this; }
  public Path getStateDir() { return stateDir; }
  public RegistryOptions setStateDir(Path stateDir) { this.stateDir = stateDir; return this; }
  /** See {@link #DEFAULT_ADMIN_AUTH_FAILURE_BURST}. */
  public int getAdminAuthFailureBurst() { return adminAuthFailureBurst; }
  public RegistryOptions setAdminAuthFailureBurst(int burst) { this.adminAuthFailureBurst = burst; return this; }
  /** See {@link #DEFAULT_ADMIN_AUTH_FAILURE_REFILL_MILLIS}. */
  public long getAdminAuthFailureRefillMillis() { return adminAuthFailureRefillMillis; }
  public RegistryOptions setAdminAuthFailureRefillMillis(long millis) { this.adminAuthFailureRefillMillis = millis; return this; }
  /** See {@link #DEFAULT_CLUSTER_TIMEOUT_MILLIS}. */
  public long getClusterTimeoutMillis() { return clusterTimeoutMillis; }
  public RegistryOptions setClusterTimeoutMillis(long millis) { this.clusterTimeoutMillis = millis; return this; }

  /** The admin console's OpenID Connect provider; null: token sign-in only. */
  public OidcOptions getConsoleOidc() { return consoleOidc; }
  public RegistryOptions setConsoleOidc(OidcOptions oidc) { this.consoleOidc = oidc; return this; }

  /** Who may sign in to the console through {@link #getConsoleOidc()}: exact addresses, lower case; {@code *} anyone. */
  public List<String> getConsoleAllowEmails() { return consoleAllowEmails; }
  public RegistryOptions setConsoleAllowEmails(List<String> emails) { this.consoleAllowEmails = List.copyOf(emails); return this; }
}
