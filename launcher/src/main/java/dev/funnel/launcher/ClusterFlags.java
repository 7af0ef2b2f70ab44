package dev.funnel.launcher;

import dev.funnel.common.cluster.ClusterOptions;
import dev.funnel.common.net.HostPort;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The flags every clustered service shares. They are read through {@link ServiceConfig} (flags
 * over environment over {@code --config FILE}), so the fields here only document them.
 */
final class ClusterFlags {

  static final String DEFAULT_STATE = ".funnel";
  private static final SecureRandom RANDOM = new SecureRandom();

  @Option(names = "--config", paramLabel = "FILE",
      description = "Settings file, YAML (or JSON if it ends in .json): flag names without the dashes as keys."
          + " Flags win over FUNNEL_* environment variables, which win over the file.")
  String config;

  @Option(names = "--cluster", description = "Run as a member of a cluster (required: these commands always run clustered).")
  boolean cluster;

  @Option(names = "--cluster-host", paramLabel = "HOST",
      description = "Address this member binds and advertises to the others, for Hazelcast and the event bus (default: 127.0.0.1).")
  String clusterHost;

  @Option(names = "--cluster-port", paramLabel = "PORT",
      description = "Hazelcast member port on --cluster-host (default: " + ClusterOptions.DEFAULT_CLUSTER_PORT + ").")
  String clusterPort;

  @Option(names = "--cluster-members", paramLabel = "HOST:PORT,…",
      description = "Members to join (TCP/IP discovery, no multicast, no port ranges); may include this one (default: itself).")
  String clusterMembers;

  @Option(names = "--cluster-name", paramLabel = "NAME",
      description = "Cluster name: members of other names are ignored (default: " + ClusterOptions.DEFAULT_CLUSTER_NAME + ").")
  String clusterName;

  @Option(names = "--bus-port", paramLabel = "PORT",
      description = "The event bus's own TCP port on --cluster-host (default: 0, any free port; fix it behind a firewall).")
  String busPort;

  @Option(names = "--state", paramLabel = "DIR",
      description = "State directory: the development CA (shared by processes given the same DIR), admin token (default: " + DEFAULT_STATE + ").")
  String state;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "Serve /metrics, /health and /ready here (off unless given).")
  String metricsListen;

  @picocli.CommandLine.Mixin
  LogFlags log;

  @Option(names = "--event-loops", paramLabel = "N",
      description = "Threads that carry tunnel bytes (the data plane's event loops) (default: one per core).")
  String eventLoops;

  /** The cluster part of {@code config}; fails unless {@code cluster} is on. */
  static ClusterOptions options(ServiceConfig config, String command) {
    if (!config.bool("cluster")) {
      throw new IllegalArgumentException("funnel " + command + " runs as a cluster member: pass --cluster (with"
          + " --cluster-host, --cluster-port, --cluster-members), or run everything in one JVM with funnel server");
    }
    String host = config.string("cluster-host", "127.0.0.1");
    long port = config.number("cluster-port", ClusterOptions.DEFAULT_CLUSTER_PORT);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("cluster-port: " + port + " is not a port");
    }
    long busPort = config.number("bus-port", 0);
    if (busPort < 0 || busPort > 65535) {
      throw new IllegalArgumentException("bus-port: " + busPort + " is not a port");
    }
    List<HostPort> members = new ArrayList<>();
    for (String member : config.list("cluster-members", List.of())) {
      if (member.contains("-") && member.substring(member.lastIndexOf(':') + 1).contains("-")) {
        throw new IllegalArgumentException("cluster-members: '" + member + "': name each member's port, no ranges");
      }
      try {
        members.add(HostPort.parse(member));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("cluster-members: " + e.getMessage());
      }
    }
    if (members.isEmpty()) {
      members.add(new HostPort(host, (int) port));
    }
    return new ClusterOptions()
        .setClusterName(config.string("cluster-name", ClusterOptions.DEFAULT_CLUSTER_NAME))
        .setHost(host)
        .setPort((int) port)
        .setBusPort((int) busPort)
        .setMembers(members);
  }

  /** {@code prefix} and 8 random hex digits: an id unique per process. */
  static String randomId(String prefix) {
    byte[] bytes = new byte[4];
    RANDOM.nextBytes(bytes);
    return prefix + HexFormat.of().formatHex(bytes);
  }

  static Path state(ServiceConfig config) {
    return config.path("state", Path.of(DEFAULT_STATE));
  }
}
