package dev.funnel.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Funnel's processes for one layout, started through the real {@code funnel} command (the repository's
 * {@code ./funnel} script running the benchmark's private copy of the launcher's jar, so with the JVM
 * defaults a user gets, then the benchmark's JVM flags): {@code funnel server} (one JVM) or the clustered
 * {@code registry}, {@code gateway} and {@code frontend}, a tailnet and key made with
 * {@code funnel admin}, and nodes added on demand.
 */
final class FunnelRig implements AutoCloseable {

  static final String DOMAIN = "funnel.localhost";
  static final String TAILNET = "bench";
  private static final Pattern READY = Pattern.compile("\\bready\\b");
  private static final long START_MILLIS = 120_000;

  private final Path jar;
  private final List<String> javaOptions;
  private final Path dir;
  private final Path logs;
  private final Path state;
  private final Map<String, Child> server = new LinkedHashMap<>();
  private final List<Child> nodes = new ArrayList<>();
  private long lastNodeStartedNanos;
  private int publicPort;
  private int gatewayPort;
  private String authKey;

  private FunnelRig(Path jar, List<String> javaOptions, Path dir, Path logs) {
    this.jar = jar;
    this.javaOptions = javaOptions;
    this.dir = dir;
    this.logs = logs;
    this.state = dir.resolve("state");
  }

  /** {@code funnel server}: frontend, registry and gateway in one JVM. */
  static FunnelRig oneJvm(Path jar, List<String> javaOptions, Path dir, Path logs) throws IOException {
    FunnelRig rig = new FunnelRig(jar, javaOptions, dir, logs);
    try {
      List<String> args = new ArrayList<>(List.of("server", "--state", rig.state.toString(), "--domain", DOMAIN,
          "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
          "--no-access-log"));
      args.addAll(rig.loadTestLimits("server"));
      Child s = rig.start("funnel-server", args);
      rig.server.put("funnel server", s);
      rig.publicPort = Integer.parseInt(s.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
      rig.gatewayPort = Integer.parseInt(s.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
      rig.makeTailnet();
      return rig;
    } catch (IOException | RuntimeException e) {
      rig.close();
      throw e;
    }
  }

  /** Whether this build has the clustered commands ({@code funnel frontend|gateway|registry --cluster}). */
  static String clusterUnavailableReason(Path jar) {
    for (String command : List.of("registry", "gateway", "frontend")) {
      try {
        String help = Child.run(List.of("java", "-jar", jar.toString(), command, "--help"), Map.of(), 60_000);
        if (!help.contains("--cluster")) {
          return "`funnel " + command + " --help` has no --cluster flag in this build";
        }
      } catch (IOException e) {
        return "`funnel " + command + "` is not in this build (" + firstLine(e.getMessage()) + ")";
      }
    }
    return null;
  }

  /**
   * The clustered layout, one process per service: registry, gateway and frontend join one
   * Hazelcast cluster on loopback; the frontend opens each tunnel as an HTTP/2 stream on the
   * gateway's link port (mutual TLS, certificates from the development CA in the shared state).
   */
  static FunnelRig cluster(Path jar, List<String> javaOptions, Path dir, Path logs) throws IOException {
    FunnelRig rig = new FunnelRig(jar, javaOptions, dir, logs);
    try {
      int registryPort = Child.freePort();
      int gatewayMemberPort = Child.freePort();
      int frontendPort = Child.freePort();
      String members = "127.0.0.1:" + registryPort + ",127.0.0.1:" + gatewayMemberPort + ",127.0.0.1:" + frontendPort;
      Child registry = rig.start("funnel-registry", List.of("registry", "--cluster", "--cluster-host", "127.0.0.1",
          "--cluster-port", String.valueOf(registryPort), "--cluster-members", members,
          "--state", rig.state.toString(), "--domain", DOMAIN, "--admin-listen", "127.0.0.1:0"));
      rig.server.put("funnel registry", registry);
      List<String> gatewayArgs = new ArrayList<>(List.of("gateway", "--cluster", "--cluster-host", "127.0.0.1",
          "--cluster-port", String.valueOf(gatewayMemberPort), "--cluster-members", members,
          "--state", rig.state.toString(), "--gateway-listen", "127.0.0.1:0"));
      gatewayArgs.addAll(rig.loadTestLimits("gateway"));
      Child gateway = rig.start("funnel-gateway", gatewayArgs);
      rig.server.put("funnel gateway", gateway);
      rig.gatewayPort = Integer.parseInt(gateway.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
      List<String> frontendArgs = new ArrayList<>(List.of("frontend", "--cluster", "--cluster-host", "127.0.0.1",
          "--cluster-port", String.valueOf(frontendPort), "--cluster-members", members,
          "--state", rig.state.toString(), "--domain", DOMAIN, "--public", "443=127.0.0.1:0"));
      if (rig.help("frontend").contains("--no-access-log")) {
        frontendArgs.add("--no-access-log");
      }
      frontendArgs.addAll(rig.loadTestLimits("frontend"));
      Child frontend = rig.start("funnel-frontend", frontendArgs);
      rig.server.put("funnel frontend", frontend);
      rig.publicPort = Integer.parseInt(frontend.fromReadyLine("443\\D*127\\.0\\.0\\.1:(\\d+)"));
      rig.makeTailnet();
      return rig;
    } catch (IOException | RuntimeException e) {
      rig.close();
      throw e;
    }
  }

  /**
   * Admission limits raised as an operator would for a load test from one address (the defaults
   * allow one source 20 new connections per second and 256 open): every limit flag that
   * {@code funnel COMMAND --help} lists. The limits that apply are recorded in {@link #limits}.
   */
  private List<String> loadTestLimits(String command) {
    String help = help(command);
    List<String> flags = new ArrayList<>();
    for (String[] flag : LOAD_TEST_LIMITS) {
      if (help.contains(flag[0] + " ") || help.contains(flag[0] + "=")) {
        flags.add(flag[0]);
        flags.add(flag[1]);
      }
    }
    limits.put(command, String.join(" ", flags));
    return flags;
  }

  private static final String[][] LOAD_TEST_LIMITS = {
      {"--max-connections", "1000000"},
      {"--max-connections-per-source", "1000000"},
      {"--source-rate", "1000000"},
      {"--source-burst", "1000000"},
      {"--max-tunnels-per-node", "1000000"},
  };

  /**
   * Tunnels one node may carry: the gateway's default unless its command took
   * {@code --max-tunnels-per-node} (the clustered gateway may not have the flag).
   */
  int maxTunnelsPerNode() {
    for (String flags : limits.values()) {
      if (flags.contains("--max-tunnels-per-node")) {
        return 1_000_000;
      }
    }
    return dev.funnel.common.options.GatewayOptions.DEFAULT_MAX_TUNNELS_PER_NODE;
  }

  /** The commands this rig's processes run ({@code server}, {@code node}, …), in start order. */
  private final List<String> commands = new ArrayList<>();

  /**
   * With FUNNEL_AOT_CACHE set (./funnel keeps an ahead-of-time cache per command and jar there): a
   * note for the report saying which of this rig's commands found one for its jar when they started;
   * the others record one. Empty otherwise.
   */
  String aotNote() throws IOException {
    String dir = System.getenv("FUNNEL_AOT_CACHE");
    if (dir == null || dir.isBlank()) {
      return "";
    }
    String stamp = Files.size(jar) + "-" + Files.getLastModifiedTime(jar).to(java.util.concurrent.TimeUnit.SECONDS);
    List<String> loaded = commands.stream()
        .filter(c -> Files.isRegularFile(Path.of(dir, c + "-" + stamp + ".aot"))).toList();
    return "; FUNNEL_AOT_CACHE=" + dir + ": a cache loaded by " + loaded + ", recorded by this run for the others";
  }

  /** Per command, the limit flags it was started with. */
  final Map<String, String> limits = new LinkedHashMap<>();

  private void makeTailnet() throws IOException {
    admin("tailnet", "add", TAILNET, "--funnel", "on", "--ports", "443");
    String out = admin("key", "add", "--tailnet", TAILNET, "--reusable").trim();
    authKey = out.substring(out.lastIndexOf('\n') + 1).trim();
  }

  /** Starts node {@code hostname} funnelling public 443 to {@code target}; its public name is returned. */
  String addNode(String hostname, String target) throws IOException {
    lastNodeStartedNanos = System.nanoTime();
    Child node = start("funnel-node-" + hostname, List.of("node", "--server", "127.0.0.1:" + gatewayPort,
        "--ca", caPem().toString(), "--authkey", authKey, "--hostname", hostname,
        "--state", dir.resolve("node-" + hostname).toString(), "--funnel", "443=" + target));
    nodes.add(node);
    return hostname + "." + TAILNET + "." + DOMAIN;
  }

  int publicPort() {
    return publicPort;
  }

  /** {@link System#nanoTime()} when the last node was started (its process, not its ready line); 0 before. */
  long lastNodeStartedNanos() {
    return lastNodeStartedNanos;
  }

  Path caPem() {
    return state.resolve("ca.pem");
  }

  /** Every Funnel process by label: the server side, then the nodes. */
  Map<String, Long> processes() {
    Map<String, Long> all = new LinkedHashMap<>();
    server.forEach((label, child) -> all.put(label, child.pid()));
    for (Child node : nodes) {
      all.put(node.name.substring(node.name.indexOf("funnel-node-")).replace("funnel-node-", "funnel node "),
          node.pid());
    }
    return all;
  }

  /** Lines of the processes' logs that say which transport and TLS engine they use. */
  List<String> engineLines() {
    List<String> lines = new ArrayList<>();
    for (Path log : List.of(logs)) {
      try (var files = Files.list(log)) {
        String prefix = dir.getFileName() + ".funnel-";
        for (Path f : files.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) {
          for (String line : Files.readAllLines(f)) {
            if (line.contains("transport:") || line.contains("OpenSSL") || line.contains("JDK TLS")) {
              lines.add(f.getFileName() + ": " + line.replaceFirst("^\\S+ ", ""));
            }
          }
        }
      } catch (IOException e) {
        // no logs
      }
    }
    return lines;
  }

  private String admin(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(script.toString()));
    command.addAll(List.of("admin", "--state", state.toString()));
    command.addAll(List.of(args));
    return Child.run(command, environment(), 60_000);
  }

  private String help(String command) {
    try {
      List<String> c = new ArrayList<>(List.of(script.toString()));
      c.addAll(List.of(command, "--help"));
      return Child.run(c, environment(), 60_000);
    } catch (IOException e) {
      return "";
    }
  }

  private Child start(String name, List<String> args) throws IOException {
    if (!commands.contains(args.get(0))) {
      commands.add(args.get(0));
    }
    List<String> command = new ArrayList<>(List.of(script.toString()));
    command.addAll(args);
    // Log files per layout (funnel-1jvm.funnel-node-web.err.log, …): one run's layouts do not overwrite each other.
    // ./funnel execs java, so the child's pid is the JVM's.
    return Child.start(dir.getFileName() + "." + name, logs, environment(), command, READY, START_MILLIS);
  }

  /** The JVM Funnel's processes run on ({@code --funnel-java}): {@code java} from PATH, as ./funnel runs it. */
  static String javaExecutable = "java";

  /** The repository's {@code funnel} script (its JVM defaults, per command); set by the runner from {@code --root}. */
  static Path script = Path.of("funnel").toAbsolutePath();

  /**
   * What {@code ./funnel} is told: the private jar (so it neither builds nor runs the work tree's jar), the
   * JVM, and the benchmark's flags, which come after the script's defaults and so win.
   */
  private Map<String, String> environment() {
    return Map.of("FUNNEL_JAR", jar.toString(), "FUNNEL_JAVA", javaExecutable,
        "FUNNEL_JAVA_OPTS", String.join(" ", javaOptions));
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).close();
    }
    List<Child> servers = new ArrayList<>(server.values());
    for (int i = servers.size() - 1; i >= 0; i--) {
      servers.get(i).close();
    }
  }
}
