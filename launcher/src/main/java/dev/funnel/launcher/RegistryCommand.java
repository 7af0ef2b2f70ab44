package dev.funnel.launcher;

import com.hazelcast.map.IMap;
import dev.funnel.common.cluster.ClusterMaps;
import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.AdminApiVerticle;
import dev.funnel.registry.RegistryService;
import dev.funnel.registry.RegistryVerticle;
import dev.funnel.registry.store.ControlStore;
import dev.funnel.registry.store.H2ControlStore;
import dev.funnel.registry.store.PostgresControlStore;
import io.vertx.core.Future;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code funnel registry --cluster …}: the session registry and its admin API as one cluster member. */
@Command(name = "registry", mixinStandardHelpOptions = true,
    description = {"Runs the session registry (who may funnel, which gateway holds each node) and its admin REST API as a member of a Funnel cluster.",
        "Live sessions are kept in the cluster (one backup copy).",
        "Durable state is in PostgreSQL with --store (needed when two or more registries run), else in an embedded store in --state."},
    footer = {"", "Example (two registries sharing PostgreSQL):",
        "  funnel registry --cluster --cluster-host 10.0.0.11 --cluster-port 5701 \\",
        "      --cluster-members 10.0.0.11:5701,10.0.0.12:5701,10.0.0.13:5701 --state /var/lib/funnel \\",
        "      --domain funnel.example.com --admin-listen 10.0.0.11:7080 --store postgresql://funnel:PASSWORD@10.0.0.20/funnel"})
final class RegistryCommand implements Callable<Integer> {

  static final HostPort DEFAULT_ADMIN_LISTEN = new HostPort("127.0.0.1", 7080);

  @Spec
  CommandSpec spec;

  @Mixin
  ClusterFlags cluster;

  @Option(names = "--domain", paramLabel = "DOMAIN", description = "Base domain: nodes are NAME.TAILNET.DOMAIN (default: funnel.localhost).")
  String domain;

  @Option(names = "--admin-listen", paramLabel = "HOST:PORT", description = "Admin REST API (default: 127.0.0.1:7080).")
  String adminListen;

  @Option(names = "--store", paramLabel = "postgresql://USER:PASSWORD@HOST:PORT/DB",
      description = "Durable state in PostgreSQL (schema migrated on start); without it, an embedded store in --state"
          + " (one registry only). Prefer FUNNEL_STORE in the environment: it carries a password.")
  String store;

  @Mixin
  ConsoleLoginFlags consoleLogin;

  @Option(names = "--lease-ms", paramLabel = "MILLIS",
      description = "A session whose gateway stops renewing is withdrawn after this (default: " + RegistryOptions.DEFAULT_LEASE_MILLIS + ").")
  String leaseMillis;

  @Option(names = "--" + AliasFlags.RESOLVER, paramLabel = "HOST:PORT",
      description = "Recursive DNS resolver custom domains are checked through (TXT at _funnel-challenge.ALIAS, CNAME "
          + "to the node's name); without it aliases stay pending.")
  String aliasResolver;

  @Option(names = "--" + AliasFlags.INTERVAL, paramLabel = "DURATION",
      description = "Re-check verified aliases this often (default: 5m; units ms, s, m, h).")
  String aliasCheckInterval;

  @Override
  public Integer call() {
    return ClusterLaunch.run(spec, "registry", RegistryCommand::prepare);
  }

  private static ClusterLaunch.Service prepare(ServiceConfig config) {
    Path state = ClusterFlags.state(config);
    HostPort metricsListen = config.hostPort("metrics-listen", null);
    String storeUrl = config.string("store", null);
    RegistryOptions options = new RegistryOptions()
        .setDomain(config.string("domain", FrontendOptions.DEFAULT_DOMAIN).toLowerCase())
        .setStateDir(state)
        .setAdminListen(config.hostPort("admin-listen", DEFAULT_ADMIN_LISTEN))
        .setLeaseMillis(config.number("lease-ms", RegistryOptions.DEFAULT_LEASE_MILLIS));
    ConsoleLoginFlags.applyTo(options, config);
    AliasFlags.apply(options, config.hostPort(AliasFlags.RESOLVER, null), config.string(AliasFlags.INTERVAL, null));
    if (options.getLeaseMillis() < 100) {
      throw new IllegalArgumentException("lease-ms: at least 100");
    }
    return cluster -> start(cluster, options, storeUrl, metricsListen);
  }

  private static String start(FunnelCluster cluster, RegistryOptions options, String storeUrl, HostPort metricsListen) {
    var vertx = cluster.vertx();
    AtomicBoolean listening = new AtomicBoolean();
    AtomicReference<RegistryService> opened = new AtomicReference<>();
    OpsVerticle ops = null;
    if (metricsListen != null) {
      ops = new OpsVerticle(metricsListen)
          .health("store", () -> opened.get() == null ? Future.succeededFuture(true) : opened.get().ping().map(true))
          .readyProbe("store", () -> opened.get() == null ? Future.succeededFuture(false) : opened.get().ping().map(true))
          .ready("listeners", listening::get);
      vertx.deployVerticle(ops).await();
    }

    String kind = storeUrl == null ? "embedded" : "postgresql";
    claimRegistrySlot(cluster, kind);
    ControlStore store;
    String where;
    if (storeUrl == null) {
      store = H2ControlStore.open(options.getStateDir());
      where = "embedded in " + options.getStateDir();
    } else {
      PostgresControlStore pg = PostgresControlStore.open(storeUrl);
      store = pg;
      where = "postgresql " + pg.where();
    }
    RegistryService registry = RegistryService.createClustered(options, store, cluster).await();
    opened.set(registry);
    vertx.deployVerticle(new RegistryVerticle(options, registry)).await();
    AdminApiVerticle admin = new AdminApiVerticle(options, registry);
    vertx.deployVerticle(admin).await();
    listening.set(true);

    StringBuilder line = new StringBuilder("domain ").append(registry.domain())
        .append(", admin http://").append(options.getAdminListen().host()).append(':').append(admin.actualPort())
        .append(", store ").append(where);
    if (ops != null) {
      line.append(", metrics http://").append(metricsListen.host()).append(':').append(ops.actualPort()).append("/metrics");
    }
    return line.append(", state ").append(options.getStateDir()).toString();
  }

  /**
   * Records this registry in {@link ClusterMaps#REGISTRIES}; refuses an embedded store beside any
   * other live registry, and any registry beside a live embedded one: each would see only its own
   * tailnets and keys.
   */
  private static void claimRegistrySlot(FunnelCluster cluster, String kind) {
    IMap<String, String> registries = cluster.hazelcast().getMap(ClusterMaps.REGISTRIES);
    Set<String> members = cluster.members();
    for (Map.Entry<String, String> other : registries.entrySet()) {
      if (!members.contains(other.getKey())) {
        registries.delete(other.getKey());
      } else if (!other.getKey().equals(cluster.nodeId()) && (kind.equals("embedded") || other.getValue().equals("embedded"))) {
        throw new IllegalStateException("another registry (member " + other.getKey() + ", " + other.getValue()
            + " store) runs in this cluster; two or more registries need one shared --store postgresql://…");
      }
    }
    registries.set(cluster.nodeId(), kind);
  }
}
