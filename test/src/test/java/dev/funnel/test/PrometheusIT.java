package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Observability, proven against real processes and a real Prometheus.
 *
 * <p>One run: a {@code funnel server} is started to create the tailnet and key, then stopped; a
 * {@code funnel node} is started while its gateway is down ({@code /ready} must say 503), the server
 * comes back on the same gateway port ({@code /ready} turns 200). Prometheus (Debian's package,
 * unpacked by {@code .ci/run} into {@code .ci/tools/prometheus}) scrapes both every second with the
 * shipped {@code grafana/prometheus/prometheus.yml} (targets and interval rewritten), while real
 * clients make routed connections (curl through the node's TLS terminator, a TLS client through
 * {@code tls-terminated-tcp}) and refused ones (a node whose target is down, an unknown name, a name
 * outside the domain, plain HTTP). Then every PromQL expression of every panel of every dashboard in
 * {@code grafana/dashboards} must return data through Prometheus' HTTP API, {@code promtool} must
 * accept every shipped Prometheus config, and the scrapes must match {@code docs/metrics.md} both ways.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PrometheusIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME = "web.demo." + DOMAIN;
  static final Path ROOT = Path.of(System.getProperty("funnel.root", "..")).toAbsolutePath().normalize();

  /** How the dashboards' template variables are filled in: every job and instance, windows that cover the run. */
  static final Map<String, String> VARIABLES = Map.of(
      "$__rate_interval", "1m",
      "$__interval", "15s",
      "$__range", "5m",
      "${job}", ".+",
      "$job", ".+",
      "${instance}", ".+",
      "$instance", ".+");

  /** The connections the traffic makes: routed 4 (3 curl, 1 TLS), refused 4 (node down, unknown, bad name, HTTP). */
  static final int CONNECTIONS = 8;

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path dir;
  private Path state;
  private Path logs;
  private Vertx vertx;
  private RecordingHttpBackend web;
  private ServerSocket echo;
  /** Stands for a primary DNS server that never answers, so the server runs its RFC 2136 pusher (and its metrics). */
  private ServerSocket silentPrimary;
  private Path tsigKey;
  private FunnelProcess server;
  private FunnelProcess node;
  private Process prometheus;
  private int prometheusPort;
  private int serverMetrics;
  private int nodeMetrics;
  private final Map<String, Integer> observed = new TreeMap<>();
  private final Map<String, String> observedBodies = new TreeMap<>();
  private long trafficDoneMillis;
  /** dig was found and asked the server's DNS (Debian's dnsutils; .ci/run installs it). */
  private boolean digAsked;

  @BeforeAll
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void startEverythingAndDriveTraffic() throws Exception {
    dir = TempDirs.create("funnel-prometheus");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "prometheus");
    vertx = Vertx.vertx();
    web = new RecordingHttpBackend(vertx);
    echo = startEcho();
    silentPrimary = new ServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress());
    tsigKey = Files.writeString(dir.resolve("tsig.key"), "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n");

    // A first server: the tailnet, a key and the gateway port the node will dial; then it stops.
    FunnelProcess first = startServer("server-first", "127.0.0.1:0");
    int gatewayPort = Integer.parseInt(first.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443,8443,10000");
    String authKey = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    first.close();

    // The node starts while no gateway listens: its ops endpoint is up, it is alive, not ready.
    int deadPort = Ports.free();
    node = FunnelProcess.spawn("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "web", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("node-state").toString(), "--metrics-listen", "127.0.0.1:0",
        "--funnel", "443=http://127.0.0.1:" + web.port(),
        "--funnel", "8443=tls-terminated-tcp://127.0.0.1:" + echo.getLocalPort(),
        "--funnel", "10000=tcp://127.0.0.1:" + deadPort);
    nodeMetrics = node.opsPort();
    record("node /ready before its session", nodeMetrics, "/ready");
    record("node /health before its session", nodeMetrics, "/health");

    // The server comes back on the same gateway port; the node's session comes up.
    server = startServer("server", "127.0.0.1:" + gatewayPort);
    serverMetrics = Integer.parseInt(server.fromReadyLine("metrics http://127\\.0\\.0\\.1:(\\d+)"));
    record("server /ready once started", serverMetrics, "/ready");
    record("server /health", serverMetrics, "/health");
    node.awaitReady(Duration.ofSeconds(60));
    record("node /ready once its session is up", nodeMetrics, "/ready");

    Optional<Path> binary = tool("prometheus");
    if (binary.isPresent()) {
      startPrometheus(binary.get());
    }
    driveTraffic();
    awaitAllCounted();
    trafficDoneMillis = System.currentTimeMillis();
    if (prometheus != null) {
      awaitPrometheusCaughtUp();
    }
  }

  @AfterAll
  void stopEverything() throws Exception {
    if (prometheus != null) {
      prometheus.destroy();
      if (!prometheus.waitFor(15, TimeUnit.SECONDS)) {
        prometheus.destroyForcibly();
      }
    }
    for (AutoCloseable c : new AutoCloseable[] {node, server, web}) {
      if (c != null) {
        c.close();
      }
    }
    if (echo != null) {
      echo.close();
    }
    if (silentPrimary != null) {
      silentPrimary.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  // ---------------------------------------------------------------------------------------- tests

  @Test
  void readyIsFalseUntilListenersAndSessionAreUpThenTrue() {
    assertThat(observed).as(observedBodies.toString())
        .containsEntry("node /ready before its session", 503)
        .containsEntry("node /health before its session", 200)
        .containsEntry("node /ready once its session is up", 200)
        .containsEntry("server /ready once started", 200)
        .containsEntry("server /health", 200);
    assertThat(observedBodies.get("node /ready before its session"))
        .contains("\"id\":\"session\",\"status\":\"DOWN\"");
    assertThat(observedBodies.get("server /health")).contains("\"id\":\"store\",\"status\":\"UP\"");
  }

  @Test
  void theAccessLogHasOneLinePerConnectionRoutedAndRefused() {
    List<String> lines = server.output().lines().filter(l -> l.contains(" funnel.access: ")).toList();
    assertThat(lines).as(server.output()).hasSize(CONNECTIONS);
    assertThat(lines.stream().map(l -> field(l, "outcome")).toList())
        .containsExactlyInAnyOrder("routed", "routed", "routed", "routed", "node_unreachable", "no_route",
            "bad_name", "not_tls");
    for (String line : lines) {
      assertThat(line).contains("time=", "port=", "sni=", "client=127.0.0.1:", "node=", "gateway=", "setup_ms=",
          "bytes_in=", "bytes_out=", "duration_ms=");
    }
    String routed = lines.stream().filter(l -> l.contains("outcome=routed") && l.contains("port=443 ")).findFirst()
        .orElseThrow();
    assertThat(routed).contains("sni=" + NAME, "gateway=gateway-1").doesNotContain("node=-", "setup_ms=-");
  }

  @Test
  void theMetersTellWhatTheClientsDid() throws Exception {
    String server = get(serverMetrics, "/metrics").body();
    String node = get(nodeMetrics, "/metrics").body();
    assertThat(sum(server, "funnel_frontend_connections_total\\{outcome=\"routed\",port=\"443\"}")).isEqualTo(3);
    assertThat(sum(server, "funnel_frontend_connections_total\\{outcome=\"routed\",port=\"8443\"}")).isEqualTo(1);
    for (String refusal : List.of("node_unreachable", "no_route", "bad_name", "not_tls")) {
      assertThat(sum(server, "funnel_frontend_connections_total\\{outcome=\"" + refusal + "\",port=\"[0-9]+\"}"))
          .as(refusal).isEqualTo(1);
    }
    assertThat(sum(server, "funnel_gateway_offers_total\\{answer=\"200\"}")).isEqualTo(4);
    assertThat(sum(server, "funnel_gateway_offers_total\\{answer=\"503\"}")).isEqualTo(1);
    assertThat(sum(node, "funnel_node_offers_total\\{answer=\"200\"}")).isEqualTo(4);
    assertThat(sum(node, "funnel_node_offers_total\\{answer=\"503\"}")).isEqualTo(1);
    assertThat(sum(server, "funnel_tunnel_setup_seconds_count\\{role=\"frontend\"}")).isEqualTo(4);
    assertThat(sum(server, "funnel_tunnel_setup_seconds_count\\{role=\"gateway\"}")).isEqualTo(4);
    assertThat(sum(node, "funnel_terminator_requests_total\\{code=\"200\",port=\"443\"}")).isEqualTo(3);
    assertThat(sum(node, "funnel_terminator_tcp_connections_total\\{outcome=\"spliced\",port=\"8443\"}")).isEqualTo(1);
    // One session, seen the same from the gateway, the registry and the node; its link connections too.
    assertThat(sum(server, "funnel_gateway_node_sessions")).isEqualTo(1);
    assertThat(sum(server, "funnel_registry_routes")).isEqualTo(1);
    assertThat(sum(node, "funnel_node_sessions")).isEqualTo(1);
    assertThat(sum(server, "funnel_gateway_link_connections")).isEqualTo(2);
    if (digAsked) {
      assertThat(sum(server, "funnel_dns_queries_total\\{rcode=\"NOERROR\",transport=\"udp\",type=\"A\"}")).isEqualTo(1);
      assertThat(sum(server, "funnel_dns_queries_total\\{rcode=\"NOERROR\",transport=\"udp\",type=\"HTTPS\"}"))
          .isEqualTo(1);
      assertThat(sum(server, "funnel_dns_queries_total\\{rcode=\"NXDOMAIN\",transport=\"udp\",type=\"A\"}")).isEqualTo(1);
      assertThat(sum(server, "funnel_dns_queries_total\\{rcode=\"REFUSED\",transport=\"tcp\",type=\"TXT\"}")).isEqualTo(1);
      assertThat(sum(server, "funnel_dns_queries_total")).as("nothing else asked").isEqualTo(4);
      assertThat(sum(server, "funnel_dns_dropped_total")).isEqualTo(1);
    }
    // The node told its gateway when its certificate (the server CA's, 90 days) expires.
    assertThat(sum(server, "funnel_gateway_node_certificates\\{expires_within=\"later\"}")).isEqualTo(1);
    assertThat(sum(server, "funnel_gateway_node_certificates")).isEqualTo(1);
    assertThat(sum(node, "funnel_node_link_connections")).isEqualTo(2);
    // The frontend's byte counters add up to what its access log says each routed tunnel carried.
    List<String> routed = this.server.output().lines()
        .filter(l -> l.contains(" funnel.access: ") && l.contains("outcome=routed")).toList();
    long in = routed.stream().mapToLong(l -> Long.parseLong(field(l, "bytes_in"))).sum();
    long out = routed.stream().mapToLong(l -> Long.parseLong(field(l, "bytes_out"))).sum();
    assertThat(sum(server, "funnel_tunnel_bytes_total\\{direction=\"inbound\",role=\"frontend\"}")).isEqualTo(in);
    assertThat(sum(server, "funnel_tunnel_bytes_total\\{direction=\"outbound\",role=\"frontend\"}")).isEqualTo(out);
    // The node sent at least that: a TLS close_notify it writes as the client leaves may never be delivered.
    assertThat(sum(node, "funnel_tunnel_bytes_total\\{direction=\"outbound\",role=\"node\"}"))
        .isGreaterThanOrEqualTo(out).isPositive();
  }

  @Test
  void everyCatalogMetricIsScrapedAndEveryScrapedFunnelMetricIsInTheCatalog() throws Exception {
    Map<String, MetricsCatalog.Family> scraped = new TreeMap<>();
    scraped.putAll(MetricsCatalog.families(get(serverMetrics, "/metrics").body()));
    MetricsCatalog.families(get(nodeMetrics, "/metrics").body()).forEach(scraped::putIfAbsent);
    Map<String, MetricsCatalog.Family> catalog = MetricsCatalog.read(ROOT.resolve("docs/metrics.md"));

    Map<String, MetricsCatalog.Family> funnel = new TreeMap<>(scraped);
    funnel.keySet().removeIf(name -> !name.startsWith("funnel_"));
    assertThat(catalog.keySet()).as("catalogued in docs/metrics.md but not in a scrape").isSubsetOf(funnel.keySet());
    assertThat(funnel.keySet()).as("scraped but not catalogued in docs/metrics.md").isSubsetOf(catalog.keySet());
    for (MetricsCatalog.Family documented : catalog.values()) {
      MetricsCatalog.Family seen = funnel.get(documented.name());
      assertThat(seen.type()).as("type of " + documented.name()).isEqualTo(documented.type());
      assertThat(seen.labels()).as("labels of " + documented.name()).isEqualTo(documented.labels());
    }
    // Bounded labels: nothing the internet chooses ends up as a label value.
    for (String scrape : List.of(get(serverMetrics, "/metrics").body(), get(nodeMetrics, "/metrics").body())) {
      assertThat(scrape.lines().filter(l -> l.startsWith("funnel_")))
          .noneMatch(l -> l.contains(NAME) || l.contains("127.0.0.1") || l.contains("nobody.") || l.contains("example.com"));
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void everyDashboardQueryReturnsDataFromARealPrometheus() throws Exception {
    assumeTrue(prometheus != null, "Prometheus not found: run .ci/run (it unpacks Debian's prometheus into "
        + ROOT.resolve(".ci/tools/prometheus") + ") or put prometheus on the PATH");
    List<Path> dashboards;
    try (Stream<Path> files = Files.list(ROOT.resolve("grafana/dashboards"))) {
      dashboards = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertThat(dashboards).as("dashboards in grafana/dashboards").hasSizeGreaterThanOrEqualTo(2);

    List<String> failures = new ArrayList<>();
    int evaluated = 0;
    for (Path file : dashboards) {
      JsonObject dashboard = new JsonObject(Files.readString(file));
      for (JsonObject variable : objects(dashboard.getJsonObject("templating", new JsonObject()).getJsonArray("list"))) {
        String definition = variable.getString("definition");
        if (definition != null && definition.startsWith("label_values(")) {
          // label_values(SELECTOR, label): the selector must match series carrying that label.
          String inner = definition.substring("label_values(".length(), definition.length() - 1);
          String label = inner.substring(inner.lastIndexOf(',') + 1).trim();
          String selector = inner.substring(0, inner.lastIndexOf(',')).trim();
          evaluated++;
          check(file, "variable $" + variable.getString("name"), "count by (" + label + ") (" + selector + ")",
              failures);
        }
      }
      for (JsonObject panel : panels(dashboard)) {
        for (JsonObject target : objects(panel.getJsonArray("targets"))) {
          evaluated++;
          check(file, panel.getString("title"), target.getString("expr"), failures);
        }
      }
    }
    System.out.println("PrometheusIT: evaluated " + evaluated + " dashboard expressions, "
        + (System.currentTimeMillis() - trafficDoneMillis) + " ms after the traffic");
    assertThat(evaluated).isGreaterThan(40);
    assertThat(failures).as("dashboard expressions that failed or returned no data").isEmpty();
  }

  @Test
  void promtoolAcceptsEveryShippedPrometheusConfig() throws Exception {
    Optional<Path> promtool = tool("promtool");
    assumeTrue(promtool.isPresent(), "promtool not found: run .ci/run (it unpacks Debian's prometheus into "
        + ROOT.resolve(".ci/tools/prometheus") + ")");
    List<Path> configs;
    try (Stream<Path> files = Files.list(ROOT.resolve("grafana/prometheus"))) {
      configs = files.filter(p -> p.getFileName().toString().matches("prometheus.*\\.ya?ml")).sorted().toList();
    }
    assertThat(configs).extracting(p -> p.getFileName().toString())
        .contains("prometheus.yml", "prometheus-cluster.yml");
    List<Path> all = new ArrayList<>(configs);
    all.add(ROOT.resolve("deploy/prometheus/prometheus.yml"));
    for (Path config : all) {
      Exec check = Exec.run(List.of(promtool.get().toString(), "check", "config", config.toString()));
      assertThat(check.exit()).as(check.output()).isZero();
      assertThat(check.output()).contains("SUCCESS").contains("rule files found");
    }
  }

  @Test
  void theAlertRulesPassTheirPromtoolTestsAndLoadInTheRealPrometheus() throws Exception {
    Optional<Path> promtool = tool("promtool");
    assumeTrue(promtool.isPresent(), "promtool not found: run .ci/run (it unpacks Debian's prometheus into "
        + ROOT.resolve(".ci/tools/prometheus") + ")");
    // promtool resolves rule_files relative to the working directory: run it in grafana/prometheus.
    Process test = new ProcessBuilder(promtool.get().toString(), "test", "rules", "funnel-alerts.test.yml")
        .directory(ROOT.resolve("grafana/prometheus").toFile()).redirectErrorStream(true).start();
    String out = new String(test.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(test.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(test.exitValue()).as(out).isZero();
    assertThat(out).contains("SUCCESS");
    if (prometheus != null) {
      // Every rule loaded and evaluated against the real scrapes without an error; no certificate
      // alert (the node's is good for 90 days).
      JsonObject rules = new JsonObject(get(prometheusPort, "/api/v1/rules").body());
      List<JsonObject> loaded = new ArrayList<>();
      for (JsonObject group : objects(rules.getJsonObject("data").getJsonArray("groups"))) {
        loaded.addAll(objects(group.getJsonArray("rules")));
      }
      assertThat(loaded).extracting(r -> r.getString("name")).contains("FunnelNodeCertificateExpiringSoon",
          "FunnelNodeCertificateExpired", "FunnelDnsPushFailing", "FunnelDnsServfail", "FunnelAcmeOrdersFailing");
      assertThat(loaded).allSatisfy(r -> assertThat(r.getString("health")).as(r.encode()).isNotEqualTo("err"));
      assertThat(value("sum(funnel_gateway_node_certificates{expires_within=~\"expired|1d|7d\"})")).isZero();
    }
  }

  // ---------------------------------------------------------------------------------------- setup

  private FunnelProcess startServer(String name, String gatewayListen) throws Exception {
    return FunnelProcess.start(name, logs, List.of(), "server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--public", "8443=127.0.0.1:0", "--public", "10000=127.0.0.1:0",
        "--gateway-listen", gatewayListen, "--admin-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        "--dns-listen", "127.0.0.1:0",
        "--dns-push", "127.0.0.1:" + silentPrimary.getLocalPort(), "--dns-push-tsig", "funnel:hmac-sha256:" + tsigKey);
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  /** The node logs its ops endpoint before it dials a gateway: that is the port to ask while it is not ready. */
  private void record(String what, int port, String path) throws Exception {
    HttpResponse<String> response = get(port, path);
    observed.put(what, response.statusCode());
    observedBodies.put(what, response.body());
  }

  private void startPrometheus(Path binary) throws Exception {
    String shipped = Files.readString(ROOT.resolve("grafana/prometheus/prometheus.yml"));
    String config = shipped
        .replace("127.0.0.1:9400", "127.0.0.1:" + serverMetrics)
        .replace("127.0.0.1:9401", "127.0.0.1:" + nodeMetrics)
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_timeout: 10s", "scrape_timeout: 1s");
    assertThat(config).as("the shipped config names the ports this test rewrites").contains(
        "127.0.0.1:" + serverMetrics, "127.0.0.1:" + nodeMetrics, "scrape_interval: 1s");
    Path configFile = Files.writeString(dir.resolve("prometheus.yml"), config);
    Files.copy(ROOT.resolve("grafana/prometheus/funnel-alerts.yml"), dir.resolve("funnel-alerts.yml"));
    Files.createDirectories(logs);
    for (int attempt = 0; attempt < 3 && prometheus == null; attempt++) {
      prometheusPort = Ports.free();
      Process started = new ProcessBuilder(binary.toString(), "--config.file=" + configFile,
          "--storage.tsdb.path=" + dir.resolve("tsdb-" + attempt), "--web.listen-address=127.0.0.1:" + prometheusPort,
          "--storage.tsdb.retention.time=1h")
          .redirectErrorStream(true).redirectOutput(logs.resolve("prometheus.log").toFile()).start();
      if (awaitPrometheusReady(started)) {
        prometheus = started;
      } else {
        started.destroyForcibly();
      }
    }
    assertThat(prometheus).as("Prometheus started; see " + logs.resolve("prometheus.log")).isNotNull();
    // Both targets scraped at least twice before the traffic, so every rate() has a baseline.
    eventually("both targets up", () -> value("count_over_time(up{job=\"funnel-server\"}[1m])") >= 2
        && value("count_over_time(up{job=\"funnel-node\"}[1m])") >= 2
        && value("min(up{job=~\"funnel-server|funnel-node\"})") == 1);
  }

  private boolean awaitPrometheusReady(Process process) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline && process.isAlive()) {
      try {
        if (get(prometheusPort, "/-/ready").statusCode() == 200) {
          return true;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    return false;
  }

  private void driveTraffic() throws Exception {
    int public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    int public8443 = Integer.parseInt(server.fromReadyLine("public 8443 on 127\\.0\\.0\\.1:(\\d+)"));
    int public10000 = Integer.parseInt(server.fromReadyLine("public 10000 on 127\\.0\\.0\\.1:(\\d+)"));
    Path ca = state.resolve("ca.pem");

    // Routed: curl through the node's TLS terminator to the web app, three times.
    for (int i = 0; i < 3; i++) {
      Exec curl = Exec.run(List.of("curl", "-sS", "--fail", "--max-time", "30", "--cacert", ca.toString(),
          "--connect-to", NAME + ":443:127.0.0.1:" + public443, "https://" + NAME + "/"));
      assertThat(curl.exit()).as(curl.output()).isZero();
      assertThat(curl.output()).contains("hello");
    }
    // Routed: a TLS client through tls-terminated-tcp to the echo server.
    SSLContext tls = TestTls.clientTrusting(ca);
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(),
        public8443)) {
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(NAME)));
      params.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(params);
      socket.setSoTimeout(30_000);
      byte[] ping = "ping through tls-terminated-tcp".getBytes(StandardCharsets.US_ASCII);
      socket.getOutputStream().write(ping);
      socket.getOutputStream().flush();
      assertThat(socket.getInputStream().readNBytes(ping.length)).isEqualTo(ping);
    }
    // Refused: the node funnels 10000 to a port nothing listens on (node answers 503).
    Exec down = Exec.run(List.of("curl", "-sS", "--max-time", "30", "--cacert", ca.toString(),
        "--connect-to", NAME + ":10000:127.0.0.1:" + public10000, "https://" + NAME + ":10000/"));
    assertThat(down.exit()).as(down.output()).isNotZero();
    // Refused: a name nobody serves, a name outside the domain, plain HTTP.
    assertThat(alertFor(public443, "nobody.demo." + DOMAIN)).isEqualTo(112);
    assertThat(alertFor(public443, "example.com")).isEqualTo(112);
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), public443)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: web\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(socket.getInputStream().readAllBytes()).isEmpty();
    }
    // DNS, asked by the real dig when there is one: the node's name (A, and HTTPS as browsers ask),
    // a name nobody has, a name outside the zone over TCP, and a datagram that is not DNS.
    if (Exec.run(List.of("sh", "-c", "command -v dig")).exit() == 0) {
      int dns = Integer.parseInt(server.fromReadyLine("dns 127\\.0\\.0\\.1:(\\d+) \\(udp, tcp\\)"));
      assertThat(dig(dns, NAME, "A")).contains("status: NOERROR");
      assertThat(dig(dns, NAME, "HTTPS")).contains("status: NOERROR");
      assertThat(dig(dns, "nobody.demo." + DOMAIN, "A")).contains("status: NXDOMAIN");
      assertThat(dig(dns, "example.com", "TXT", "+tcp")).contains("status: REFUSED");
      try (java.net.DatagramSocket socket = new java.net.DatagramSocket(0, InetAddress.getLoopbackAddress())) {
        byte[] junk = "not a dns query".getBytes(StandardCharsets.US_ASCII);
        socket.send(new java.net.DatagramPacket(junk, junk.length, InetAddress.getLoopbackAddress(), dns));
      }
      digAsked = true;
    }
  }

  private static String dig(int port, String name, String type, String... extra) throws Exception {
    return Dig.ask(port, name, type, extra);
  }

  /** Every connection counted at the frontend, and the node's tunnels ended (their bytes count at the end). */
  private void awaitAllCounted() throws Exception {
    eventually("all " + CONNECTIONS + " connections counted and tunnels closed", () -> {
      String serverScrape = get(serverMetrics, "/metrics").body();
      String nodeScrape = get(nodeMetrics, "/metrics").body();
      return sum(serverScrape, "funnel_frontend_connections_total") == CONNECTIONS
          && sum(serverScrape, "funnel_tunnels_active") == 0
          && sum(nodeScrape, "funnel_tunnels_active") == 0
          && sum(nodeScrape, "funnel_terminator_tcp_bytes_total") > 0
          && (!digAsked || sum(serverScrape, "funnel_dns_dropped_total\\{reason=\"malformed\",transport=\"udp\"}") == 1);
    });
  }

  /** Prometheus has scraped the final counts, and twice more after them. */
  private void awaitPrometheusCaughtUp() throws Exception {
    eventually("Prometheus saw every connection", () ->
        value("sum(funnel_frontend_connections_total{job=\"funnel-server\"})") == CONNECTIONS
            && value("sum(funnel_terminator_tcp_bytes_total{job=\"funnel-node\"})") > 0);
    long seen = (long) value("count_over_time(up{job=\"funnel-node\"}[5m])");
    eventually("two more scrapes", () -> value("count_over_time(up{job=\"funnel-node\"}[5m])") >= seen + 2
        && value("count_over_time(up{job=\"funnel-server\"}[5m])") >= 4);
  }

  // ---------------------------------------------------------------------------------------- PromQL

  /** Evaluates {@code expr} (template variables filled in) now; a failure or no finite sample is recorded. */
  private void check(Path file, String title, String expr, List<String> failures) throws Exception {
    String query = expr;
    for (Map.Entry<String, String> variable : VARIABLES.entrySet().stream()
        .sorted((a, b) -> b.getKey().length() - a.getKey().length()).toList()) {
      query = query.replace(variable.getKey(), variable.getValue());
    }
    String where = file.getFileName() + " / " + title + ": " + query;
    if (query.contains("$")) {
      failures.add(where + " → a template variable this test does not know");
      return;
    }
    HttpResponse<String> response = get(prometheusPort, "/api/v1/query?query="
        + URLEncoder.encode(query, StandardCharsets.UTF_8));
    JsonObject answer = new JsonObject(response.body());
    if (response.statusCode() != 200 || !"success".equals(answer.getString("status"))) {
      failures.add(where + " → " + response.statusCode() + " " + answer.getString("error"));
      return;
    }
    JsonArray result = answer.getJsonObject("data").getJsonArray("result");
    boolean finite = objects(result).stream().map(r -> r.getJsonArray("value").getString(1))
        .anyMatch(v -> !v.equals("NaN") && !v.endsWith("Inf"));
    if (!finite) {
      failures.add(where + " → no data (" + result.size() + " series, none with a finite value: " + result + ")");
    }
  }

  /** The first sample's value of an instant query, or NaN when there is none. */
  private double value(String query) throws Exception {
    JsonObject answer = new JsonObject(get(prometheusPort, "/api/v1/query?query="
        + URLEncoder.encode(query, StandardCharsets.UTF_8)).body());
    JsonArray result = answer.getJsonObject("data", new JsonObject()).getJsonArray("result", new JsonArray());
    return result.isEmpty() ? Double.NaN : Double.parseDouble(result.getJsonObject(0).getJsonArray("value").getString(1));
  }

  /** Every panel, those inside collapsed rows included. */
  private static List<JsonObject> panels(JsonObject dashboard) {
    List<JsonObject> out = new ArrayList<>();
    for (JsonObject panel : objects(dashboard.getJsonArray("panels"))) {
      out.add(panel);
      out.addAll(objects(panel.getJsonArray("panels")));
    }
    return out;
  }

  private static List<JsonObject> objects(JsonArray array) {
    return array == null ? List.of() : array.stream().map(JsonObject.class::cast).toList();
  }

  // ---------------------------------------------------------------------------------------- helpers

  private HttpResponse<String> get(int port, String pathAndQuery) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  interface Condition {
    boolean holds() throws Exception;
  }

  private static void eventually(String what, Condition condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 30 s: " + what);
      }
      Thread.sleep(200);
    }
  }

  /** The sum of every sample of {@code family} in a scrape. */
  private static double sum(String scrape, String family) {
    Pattern sample = Pattern.compile("(?m)^" + family + "(\\{[^}]*})? ([0-9.eE+-]+)$");
    Matcher m = sample.matcher(scrape);
    double total = 0;
    while (m.find()) {
      total += Double.parseDouble(m.group(2));
    }
    return total;
  }

  private static String field(String logfmtLine, String key) {
    Matcher m = Pattern.compile("\\b" + key + "=(\\S+)").matcher(logfmtLine);
    return m.find() ? m.group(1) : null;
  }

  /** prometheus or promtool: unpacked by .ci/run, else a system install, else the PATH. */
  static Optional<Path> tool(String name) {
    List<Path> candidates = new ArrayList<>(List.of(
        ROOT.resolve(".ci/tools/prometheus/usr/bin").resolve(name), Path.of("/usr/bin").resolve(name)));
    String path = System.getenv().getOrDefault("PATH", "");
    Arrays.stream(path.split(":")).filter(s -> !s.isEmpty()).map(s -> Path.of(s).resolve(name)).forEach(candidates::add);
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  private static ServerSocket startEcho() throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          Thread t = new Thread(() -> {
            try (socket; InputStream in = socket.getInputStream(); OutputStream out = socket.getOutputStream()) {
              socket.setSoTimeout(60_000);
              in.transferTo(out);
            } catch (IOException e) {
              // the peer went away
            }
          }, "echo");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "echo-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    return server;
  }

  /** Sends a real ClientHello for {@code name}; returns the alert description the frontend answers with. */
  private static int alertFor(int port, String name) throws Exception {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(TestTls.clientHello(name));
      byte[] alert = socket.getInputStream().readNBytes(7);
      assertThat(alert).as("a whole alert record").hasSize(7);
      assertThat(socket.getInputStream().read()).as("closed after the alert").isEqualTo(-1);
      return alert[6] & 0xff;
    }
  }
}
