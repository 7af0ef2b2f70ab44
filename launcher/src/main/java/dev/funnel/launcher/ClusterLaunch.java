package dev.funnel.launcher;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.cluster.ClusterOptions;
import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.DataPlane;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;

/**
 * How a clustered service process runs: read its settings, check them before anything starts,
 * join the cluster, start the service, print one line containing {@code ready}, then wait for
 * SIGTERM (which leaves the cluster cleanly). Any failure before ready prints one line
 * ({@code funnel registry: cannot start: …}) and exits 1.
 */
final class ClusterLaunch {

  /** Joining gives up after this (Hazelcast's own join bound is shorter; this catches a stuck start). */
  static final long JOIN_TIMEOUT_SECONDS = 120;

  /** A service that has been checked and can start on a joined cluster. */
  interface Service {
    /** Deploys everything (blocking, from main); returns what the ready line says after "ready: ". */
    String start(FunnelCluster cluster);
  }

  private ClusterLaunch() {
  }

  /** The stack trace of a start-up failure, with {@code --debug} only. */
  private static void debugTrace(Throwable e) {
    if (Logging.settings().debug()) {
      e.printStackTrace();
    }
  }

  /**
   * Before joining: every {@code *-listen} address and {@code --public} entry is free, PEM files
   * are PEM, and the state directory is writable.
   */
  private static void preflight(ServiceConfig config) {
    for (String key : ServiceConfig.KNOWN) {
      if (key.endsWith("-listen") && config.has(key)) {
        Preflight.free("--" + key, config.hostPort(key, null), key.equals(DnsFlags.LISTEN));
      }
    }
    for (String key : java.util.List.of("cert", "link-cert", "link-ca")) {
      if (config.has(key)) {
        Preflight.pem("--" + key, config.path(key, null), "certificate");
      }
    }
    for (String key : java.util.List.of("key", "link-key")) {
      if (config.has(key)) {
        Preflight.pem("--" + key, config.path(key, null), "key");
      }
    }
    if (config.has("public")) {
      Preflight.free(Flags.publicListeners(config.list("public", java.util.List.of())));
    }
    Preflight.writable("--state", ClusterFlags.state(config));
  }

  static int run(CommandSpec spec, String command, Function<ServiceConfig, Service> prepare) {
    ClusterOptions clusterOptions;
    Service service;
    try {
      ServiceConfig config = ServiceConfig.load(spec);
      if (spec.findOption("--domain") != null && config.has("domain")) {
        // Before the cluster is joined: a bad base domain used to stop the start only once the frontend deployed.
        Preflight.domain("--domain", config.string("domain", null));
      }
      clusterOptions = ClusterFlags.options(config, command);
      DataPlane.configure(Flags.eventLoops(config.integer("event-loops", 0)));
      service = prepare.apply(config);
      preflight(config);
    } catch (Processes.Failure e) {
      System.err.println("funnel " + command + ": " + e.getMessage());
      return e.exitCode;
    } catch (IllegalArgumentException e) {
      System.err.println("funnel " + command + ": " + Processes.describe(e));
      debugTrace(e);
      return 2;
    } catch (RuntimeException e) {
      System.err.println("funnel " + command + ": cannot start: " + Processes.describe(e));
      debugTrace(e);
      return 1;
    }
    long started = System.nanoTime();
    FunnelCluster cluster;
    try {
      cluster = FunnelVertx.clustered(clusterOptions).await(JOIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("funnel " + command + ": cannot join the cluster at " + clusterOptions.getHost() + ":"
          + clusterOptions.getPort() + ": " + Processes.describe(e));
      debugTrace(e);
      return 1;
    }
    long joinedMillis = (System.nanoTime() - started) / 1_000_000;
    Processes.closeOnShutdown(cluster.vertx(), command);
    String what = Processes.startOrExit(cluster.vertx(), command, () -> service.start(cluster));
    System.out.println("funnel " + command + " ready: " + what + ", cluster " + clusterOptions.getHost() + ":"
        + clusterOptions.getPort() + " as " + cluster.nodeId() + " (" + cluster.members().size()
        + " members, joined in " + joinedMillis + " ms)");
    System.out.flush();
    Processes.awaitShutdown();
    return 0;
  }
}
