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

  private String domain = FrontendOptions.DEFAULT_DOMAIN;
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
