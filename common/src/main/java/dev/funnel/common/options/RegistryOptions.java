package dev.funnel.common.options;

import dev.funnel.common.net.HostPort;
import java.nio.file.Path;

/** Options of the session registry. */
public class RegistryOptions {

  /** A route whose gateway stops renewing is withdrawn after this long. */
  public static final long DEFAULT_LEASE_MILLIS = 15_000;

  private String domain = FrontendOptions.DEFAULT_DOMAIN;
  private long leaseMillis = DEFAULT_LEASE_MILLIS;
  private Path stateDir = Path.of(".funnel");
  private HostPort adminListen = new HostPort("127.0.0.1", 7080);

  public String getDomain() { return domain; }
  public RegistryOptions setDomain(String domain) { this.domain = domain; return this; }
  public long getLeaseMillis() { return leaseMillis; }
  public RegistryOptions setLeaseMillis(long leaseMillis) { this.leaseMillis = leaseMillis; return this; }
  /** Where the admin REST API listens. */
  public HostPort getAdminListen() { return adminListen; }
  public RegistryOptions setAdminListen(HostPort adminListen) { this.adminListen = adminListen; return this; }
  public Path getStateDir() { return stateDir; }
  public RegistryOptions setStateDir(Path stateDir) { this.stateDir = stateDir; return this; }
}
