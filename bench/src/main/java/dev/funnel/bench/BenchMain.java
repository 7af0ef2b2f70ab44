package dev.funnel.bench;

import dev.funnel.common.tls.DevCa;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code ./bench/run [--quick]}: measures every path to one TLS backend in one run and writes
 * {@code bench/results/latest.json} and {@code latest.md}. Also the entry point of the backend
 * process ({@code backend CHAIN KEY}).
 */
public final class BenchMain {

  static final String WEB = "web." + FunnelRig.TAILNET + "." + FunnelRig.DOMAIN;
  static final String APP = "app." + FunnelRig.TAILNET + "." + FunnelRig.DOMAIN;

  /**
   * JVM flags for Funnel's processes unless FUNNEL_JAVA_OPTS says otherwise: the default collector
   * (G1) with a fixed, pre-touched 1 GiB heap, as a server is usually run. A pinned heap keeps G1 from
   * growing and shrinking it between readings, so memory per tunnel can be measured (see Suite#idle);
   * bench/README.md has what other flags did.
   */
  static final String DEFAULT_FUNNEL_JAVA_OPTS = "-Xms1g -Xmx1g -XX:+AlwaysPreTouch";
  static final List<String> HELPER_JVM = List.of("-XX:+UseParallelGC", "-Xms256m", "-Xmx2g",
      "-Dio.netty.leakDetection.level=disabled");

  private BenchMain() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("backend")) {
      Backend.main(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length > 0 && (args[0].equals("tunnels") || args[0].equals("https")
        || args[0].equals("bulk"))) {
      System.exit(HeldLoad.main(args[0], Arrays.copyOfRange(args, 1, args.length)));
    }
    int code = new BenchMain().run(args);
    System.exit(code);
  }

  private boolean quick;
  private Path root = Path.of("").toAbsolutePath();
  private Path out;
  private String command = "./bench/run";
  private Set<String> selected = new LinkedHashSet<>(Report.PATHS);
  private boolean https = true;
  private List<String> funnelOpts;
  /** Developer aid: start one path (or "https" for the terminator), print how to reach it, wait for Enter. */
  private String hold;
  private Path funnelJar;
  /** The private copy the Funnel paths run. */
  private Path funnelJarCopy;

  private int run(String[] args) throws Exception {
    String funnelOptsText = System.getenv().getOrDefault("FUNNEL_JAVA_OPTS", DEFAULT_FUNNEL_JAVA_OPTS);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> quick = true;
        case "--root" -> root = Path.of(args[++i]).toAbsolutePath();
        case "--out" -> out = Path.of(args[++i]).toAbsolutePath();
        case "--command" -> command = args[++i];
        case "--paths" -> selected = new LinkedHashSet<>(List.of(args[++i].split(",")));
        case "--no-https" -> https = false;
        case "--funnel-java-opts" -> funnelOptsText = args[++i];
        case "--hold" -> hold = args[++i];
        case "--funnel-jar" -> funnelJar = Path.of(args[++i]).toAbsolutePath();
        case "--funnel-java" -> FunnelRig.javaExecutable = args[++i];
        case "--help", "-h" -> {
          System.out.println(usage());
          return 0;
        }
        default -> {
          System.err.println("bench: unknown flag " + args[i] + "\n" + usage());
          return 2;
        }
      }
    }
    funnelOpts = funnelOptsText.isBlank() ? List.of() : List.of(funnelOptsText.trim().split("\\s+"));
    if (out == null) {
      out = root.resolve("bench/results");
    }
    Instant started = Instant.now();
    String loadStart = Proc.loadAverage();
    Path tmp = Files.createTempDirectory("funnel-bench-");
    Path logs = root.resolve("bench/target/logs");
    FunnelRig.script = root.resolve("funnel");
    Files.createDirectories(logs);
    try (var old = Files.list(logs)) {
      for (Path f : old.toList()) {
        Files.deleteIfExists(f);
      }
    }
    // A private copy: another build replacing the jar mid-run must not change what is measured. Its
    // time stamp is kept and its path is the same in every run: a JVM's class-data archive (CDS, an
    // AOT cache from FUNNEL_AOT_CACHE) checks both.
    Path jar = Files.copy(funnelJar != null ? funnelJar : root.resolve("launcher/target/funnel.jar"),
        root.resolve("bench/target/funnel-under-test.jar"),
        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    funnelJarCopy = jar;

    DevCa ca = DevCa.loadOrCreate(tmp.resolve("bench-ca"));
    DevCa.KeyAndChain cert = ca.issue(List.of(WEB, APP), Duration.ofDays(2));
    Path chain = Files.writeString(tmp.resolve("backend-chain.pem"), cert.chainPem());
    Path key = Files.writeString(tmp.resolve("backend-key.pem"), cert.keyPem());
    Path trust = ca.caPemPath();
    int idleCap = idleCap();
    Suite.Plan plan = Suite.Plan.of(quick, idleCap);

    List<String> backendCommand = new ArrayList<>(List.of("java"));
    backendCommand.addAll(HELPER_JVM);
    backendCommand.addAll(List.of("-cp", ownJar(), BenchMain.class.getName(), "backend", chain.toString(),
        key.toString()));
    JsonObject paths = new JsonObject();
    JsonObject details = new JsonObject();
    JsonObject httpsFigures = new JsonObject().putNull("nginx_rps").putNull("funnel_terminator_rps")
        .putNull("funnel_terminator_upload_http2_over_http1").putNull("nginx_upload_http2_over_http1");
    List<String> engines = new ArrayList<>();
    try (Child backend = Child.start("backend", logs, Map.of(), backendCommand,
        Pattern.compile("bench backend ready"), 60_000);
         LoadClient client = new LoadClient(Runtime.getRuntime().availableProcessors())) {
      int tlsPort = Integer.parseInt(backend.fromReadyLine("tls=(\\d+)"));
      int httpPort = Integer.parseInt(backend.fromReadyLine("http=(\\d+)"));
      SslContext benchTls = Net.client(trust.toFile());
      Suite suite = new Suite(client, plan, backend.pid());
      if (hold != null) {
        return hold(hold, jar, tmp, logs, tlsPort, httpPort, trust);
      }
      if (!selected.contains("direct") && (selected.contains("funnel-1jvm") || selected.contains("funnel-cluster"))) {
        // The first path warms the load client; without direct first, a Funnel path's soon-after-start
        // rate would also measure the client's own JIT warm-up.
        suite.warmClient(Ingress.direct(tlsPort, WEB, trust), benchTls);
      }
      String clusterMissing = selected.contains("funnel-cluster") ? FunnelRig.clusterUnavailableReason(jar) : null;

      for (String name : Report.PATHS) {
        if (!selected.contains(name)) {
          paths.put(name, Report.notMeasured("not selected in this run (--paths)"));
          continue;
        }
        if (name.equals("funnel-cluster") && clusterMissing != null) {
          System.err.println("bench: funnel-cluster not measured: " + clusterMissing);
          paths.put(name, Report.notMeasured(clusterMissing));
          continue;
        }
        String toolMissing = Ingress.unavailableReason(name);
        if (toolMissing != null) {
          System.err.println("bench: " + name + " not measured: " + toolMissing);
          paths.put(name, Report.notMeasured(toolMissing));
          continue;
        }
        Ingress path = null;
        try {
          path = switch (name) {
            case "direct" -> Ingress.direct(tlsPort, WEB, trust);
            case "haproxy" -> Ingress.haproxy(tmp, logs, tlsPort, WEB, trust);
            case "haproxy-tunnel" -> Ingress.haproxyTunnel(tmp, logs, tlsPort, WEB, trust);
            case "nginx" -> Ingress.nginxStream(tmp, logs, tlsPort, WEB, trust);
            case "funnel-1jvm" -> funnelPath(name, FunnelRig.oneJvm(jar, funnelOpts, tmp.resolve(name), logs),
                tlsPort, trust, engines);
            default -> funnelPath(name, FunnelRig.cluster(jar, funnelOpts, tmp.resolve(name), logs),
                tlsPort, trust, engines);
          };
          JsonObject[] result = suite.measure(path, benchTls);
          paths.put(name, result[0]);
          details.put(name, result[1]);
        } catch (Exception e) {
          String why = "failed: " + e.getMessage();
          System.err.println("bench: " + name + " " + why);
          e.printStackTrace();
          paths.put(name, Report.notMeasured(why));
        } finally {
          if (path != null) {
            path.close();
          }
        }
      }
      if (https) {
        HttpsRun.run(client, plan, tmp, logs, httpPort, chain, key, trust, funnelJarCopy, funnelOpts, httpsFigures,
            details, engines);
      }
    }

    JsonObject facts = new JsonObject(new LinkedHashMap<>(machineFacts(started, loadStart, idleCap, engines)));
    JsonObject report = new JsonObject()
        .put("machine", facts)
        .put("plan", plan.toJson())
        .put("paths", paths)
        .put("https", httpsFigures)
        .put("ratios", Report.ratios(paths).put("https", new JsonObject().put("funnel_terminator_vs_nginx",
            Stats.round(Stats.ratio(httpsFigures.getDouble("funnel_terminator_rps"),
                httpsFigures.getDouble("nginx_rps")), 3))))
        .put("targets", Report.targets(paths, httpsFigures))
        .put("details", details);
    report = (JsonObject) Report.clean(report);
    Files.createDirectories(out);
    Files.writeString(out.resolve("latest.json"), report.encodePrettily() + "\n");
    String md = Report.markdown(report, command);
    Files.writeString(out.resolve("latest.md"), md);
    if (out.equals(root.resolve("bench/results")) && selected.containsAll(Report.PATHS) && !quick) {
      Report.intoReadme(root.resolve("README.md"), md);
    }
    System.out.println(md);
    System.out.println("bench: wrote " + out.resolve("latest.json") + " and latest.md in "
        + Duration.between(started, Instant.now()).toSeconds() + " s (logs in " + logs + ")");
    deleteTree(tmp);
    return 0;
  }

  private int hold(String name, Path jar, Path tmp, Path logs, int tlsPort, int httpPort, Path trust)
      throws Exception {
    AutoCloseable running;
    String reach;
    if (name.equals("https")) {
      FunnelRig rig = FunnelRig.oneJvm(jar, funnelOpts, tmp.resolve("funnel-https"), logs);
      String host = rig.addNode("app", "http://127.0.0.1:" + httpPort);
      running = rig;
      reach = "curl --cacert " + rig.caPem() + " --connect-to " + host + ":443:127.0.0.1:" + rig.publicPort()
          + " https://" + host + "/   processes " + rig.processes();
    } else {
      Ingress path = switch (name) {
        case "haproxy" -> Ingress.haproxy(tmp, logs, tlsPort, WEB, trust);
        case "haproxy-tunnel" -> Ingress.haproxyTunnel(tmp, logs, tlsPort, WEB, trust);
        case "nginx" -> Ingress.nginxStream(tmp, logs, tlsPort, WEB, trust);
        case "funnel-1jvm" -> funnelPath(name, FunnelRig.oneJvm(jar, funnelOpts, tmp.resolve(name), logs), tlsPort,
            trust, new ArrayList<>());
        case "funnel-cluster" -> funnelPath(name, FunnelRig.cluster(jar, funnelOpts, tmp.resolve(name), logs),
            tlsPort, trust, new ArrayList<>());
        default -> Ingress.direct(tlsPort, WEB, trust);
      };
      running = path;
      reach = "port " + path.port() + ", SNI " + path.serverName() + ", CA " + trust + ", processes "
          + path.processes() + "; backend http port " + httpPort;
    }
    System.out.println("bench: holding " + name + ": " + reach + " (Enter stops)");
    System.in.read();
    running.close();
    return 0;
  }

  static String usage() {
    return String.join("\n",
        "usage: ./bench/run [--quick] [--paths PATH,…] [--no-https] [--funnel-jar FILE] [--funnel-java PATH/bin/java]",
        "                   [--funnel-java-opts \"…\"] [--hold PATH|https] [--root DIR] [--out DIR]",
        "paths (default: all, in this order): " + String.join(", ", Report.PATHS),
        "  direct          client -> backend",
        "  haproxy         one HAProxy, mode tcp, routing on req.ssl_sni",
        "  haproxy-tunnel  Funnel's job with HAProxy at both ends: edge (req.ssl_sni) -> TLS leg -> tunnel end"
            + " -> backend",
        "  nginx           nginx stream, ssl_preread",
        "  funnel-1jvm     funnel server + funnel node",
        "  funnel-cluster  funnel registry, gateway, frontend (--cluster) + funnel node",
        "a path whose tool is missing (haproxy, nginx) is reported as not measured; see bench/README.md");
  }

  private Ingress funnelPath(String name, FunnelRig rig, int tlsPort, Path trust, List<String> engines)
      throws Exception {
    try {
      // No wait for the node's pool to fill: the suite's sanity check and warm-up come first.
      String serverName = rig.addNode("web", "tcp://127.0.0.1:" + tlsPort);
      engines.addAll(rig.engineLines());
      return new Ingress.Simple(name, rig.publicPort(), serverName, trust, rig.processes(), List.of(rig), true,
          "funnel JVM flags: ./funnel's defaults for the command, then "
              + (funnelOpts.isEmpty() ? "nothing" : String.join(" ", funnelOpts))
              + "; access log off; limit flags: " + rig.limits
              + "; clients from " + LoadClient.SOURCES + " loopback addresses" + rig.aotNote())
          .maxTunnels(rig.maxTunnelsPerNode())
          .freshSince(rig.lastNodeStartedNanos())
          .heapPinned(heapPinned());
    } catch (Exception e) {
      rig.close();
      throw e;
    }
  }

  /** -Xms equal to -Xmx and -XX:+AlwaysPreTouch: the heap is resident from the start. */
  private boolean heapPinned() {
    String xms = null;
    String xmx = null;
    for (String o : funnelOpts) {
      if (o.startsWith("-Xms")) {
        xms = o.substring(4);
      } else if (o.startsWith("-Xmx")) {
        xmx = o.substring(4);
      }
    }
    return funnelOpts.contains("-XX:+AlwaysPreTouch") && xms != null && xms.equals(xmx);
  }

  /** Idle tunnels are bounded by the open-file limit: a proxy holds two sockets per tunnel. */
  private static int idleCap() {
    long limit = Proc.openFilesLimit();
    return (int) Math.max(100, Math.min(10_000, (limit - 1000) / 2));
  }


  private Map<String, Object> machineFacts(Instant started, String loadStart, int idleCap, List<String> engines) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("started_at", started.truncatedTo(ChronoUnit.SECONDS).toString());
    m.put("duration_s", Duration.between(started, Instant.now()).toSeconds());
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu_model", Proc.cpuModel());
    m.put("kernel", Proc.kernel());
    m.put("memory_total_kib", memTotal());
    m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("funnel_java", FunnelRig.javaExecutable);
    m.put("funnel_java_opts", funnelOpts.isEmpty() ? "(none: JVM defaults)" : String.join(" ", funnelOpts));
    m.put("load_generator_jvm_flags", String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
    m.put("backend_jvm_flags", String.join(" ", HELPER_JVM));
    m.put("load_generator", "Netty " + io.netty.util.Version.identify().values().stream().findFirst()
        .map(v -> v.artifactVersion()).orElse("?") + " (" + Net.describe() + "), TLS 1.3, SNI, certificate and"
        + " name verified, no session resumption");
    m.put("backend", "Netty (" + Net.describe() + "), separate JVM");
    m.put("open_files_limit", Proc.openFilesLimit());
    m.put("idle_tunnel_cap", idleCap);
    m.put("load_average_start", loadStart);
    m.put("load_average_end", Proc.loadAverage());
    m.put("funnel_engines", new JsonArray(new ArrayList<>(new LinkedHashSet<>(engines))));
    m.put("git_commit", gitCommit());
    return m;
  }

  private long memTotal() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException e) {
      // fall through
    }
    return -1;
  }

  private String gitCommit() {
    try {
      return Child.run(List.of("git", "-C", root.toString(), "rev-parse", "--short", "HEAD"), Map.of(), 10_000).trim();
    } catch (IOException e) {
      return "?";
    }
  }

  private static String ownJar() throws Exception {
    return Path.of(BenchMain.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
  }

  private static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // leave it
    }
  }
}
