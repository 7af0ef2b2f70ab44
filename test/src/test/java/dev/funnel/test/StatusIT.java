package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * {@code funnel status} and {@code funnel admin status} through real processes: {@code funnel
 * server} (public 443 and 8443, no listener for 10000, its DNS on), two {@code funnel node}s (one
 * terminating TLS for an HTTP backend, one passing TLS through to a local TLS server), and the real
 * status commands. The node's live probe goes node → gateway → frontend, which dials its own
 * public listener with the node's name as SNI: OK with this node's certificate or tunnel; a port
 * the tailnet does not allow, or that no frontend listens on, is said to be refused everywhere the
 * node's owner looks (ready line, {@code serve add}, {@code admin node list}, {@code status});
 * stopping the local app names the local target; Funnel off names the registry.
 *
 * <p>One scenario in order: each test leaves the state the next one starts from.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class StatusIT {

  static final String DOMAIN = "funnel.localhost";
  static final String WEB = "web.demo." + DOMAIN;
  static final String RAW = "raw.demo." + DOMAIN;
  static final String POLICY = "refused by the tailnet's policy";

  private Path state;
  private Path webState;
  private Path rawState;
  private Path logs;
  private FunnelProcess server;
  private FunnelProcess web;
  private FunnelProcess raw;
  private HttpServer backend;
  private RecordingTlsServer rawServer;
  private int public443;
  private int gatewayPort;
  private int dnsPort;

  @BeforeAll
  void start() throws Exception {
    Path dir = TempDirs.create("funnel-status");
    state = dir.resolve("state");
    webState = dir.resolve("web");
    rawState = dir.resolve("raw");
    logs = Path.of("target", "e2e-logs", "status");
    Files.createDirectories(logs);
    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--public", "8443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0", "--dns-frontends", "127.0.0.1");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    dnsPort = Integer.parseInt(server.fromReadyLine("dns 127\\.0\\.0\\.1:(\\d+)"));
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443,10000");

    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    backend.createContext("/", exchange -> {
      byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
    DevCa.KeyAndChain rawCert = DevCa.loadOrCreate(state).issue(List.of(RAW), Duration.ofDays(1));
    rawServer = new RecordingTlsServer(TestTls.server(rawCert.keyPem(), rawCert.chainPem()));

    String key = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    String http = "http://127.0.0.1:" + backend.getAddress().getPort();
    web = node("node-web", "web", webState, key, "443=" + http, "10000=" + http);
    raw = node("node-raw", "raw", rawState, key, "443=tcp://127.0.0.1:" + rawServer.port());
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {web, raw, server, rawServer}) {
      if (c != null) {
        c.close();
      }
    }
    if (backend != null) {
      backend.stop(0);
    }
  }

  @Test
  @Order(1)
  void aPortTheServerDoesNotRouteIsSaidSoByTheReadyLineServeAddAndNodeList() throws Exception {
    String ready = web.awaitReady(Duration.ofSeconds(1));
    assertThat(ready).contains("https://" + WEB + "/ → http://127.0.0.1:" + backend.getAddress().getPort() + ",")
        .contains("https://" + WEB + ":10000/ → http://127.0.0.1:" + backend.getAddress().getPort()
            + " (NOT ROUTED: the server has no public listener for this port (10000))");
    assertThat(ready.substring(0, ready.indexOf(":10000/"))).doesNotContain("NOT ROUTED");

    FunnelProcess.Result add = FunnelProcess.run(logs, "node", "serve", "add", "8443=http://127.0.0.1:"
        + backend.getAddress().getPort(), "--state", webState.toString());
    assertThat(add.exit()).as(add.all()).isZero();
    assertThat(add.stdout().get(0)).isEqualTo("funnelling public port 8443 → http://127.0.0.1:"
        + backend.getAddress().getPort() + " on this node, but the server does not route it: " + POLICY
        + ": tailnet demo does not allow port 8443 (allowed: 443, 10000)");

    FunnelProcess.Result list = admin("node", "list");
    assertThat(list.stdout()).contains("web.demo port 8443 is not routed: " + POLICY
        + ": tailnet demo does not allow port 8443 (allowed: 443, 10000)");
    JsonObject webNode = nodeJson("web");
    assertThat(webNode.getJsonObject("refused").getString("8443")).startsWith(POLICY);
    assertThat(webNode.getJsonObject("refused").getString("10000")).contains("no public listener");
    assertThat(webNode.getJsonObject("refused").containsKey("443")).isFalse();
  }

  @Test
  @Order(2)
  void statusProbesEachPortAndNamesTheHopThatFails() throws Exception {
    FunnelProcess.Result run = FunnelProcess.run(logs, "status", "--state", webState.toString(), "--json");
    assertThat(run.exit()).as("a port is not routed: not OK\n" + run.all()).isEqualTo(1);
    JsonObject status = new JsonObject(String.join("\n", run.stdout()));
    assertThat(status.getString("fqdn")).isEqualTo(WEB);
    assertThat(status.getBoolean("ok")).isFalse();
    Map<Integer, JsonObject> ports = byPort(status);
    assertThat(ports).containsOnlyKeys(443, 8443, 10000);

    JsonObject healthy = ports.get(443);
    assertThat(healthy.getBoolean("routed")).isTrue();
    JsonObject probe = healthy.getJsonObject("probe");
    assertThat(probe.getBoolean("ok")).as(probe.encodePrettily()).isTrue();
    assertThat(probe.getString("message")).matches("this node's certificate came back in \\d+ ms");
    assertThat(probe.getJsonObject("server").getString("fingerprint"))
        .as("the probe's handshake returned this node's own certificate")
        .isEqualTo(status.getJsonObject("certificate").getString("sha256"));
    assertThat(probe.getInteger("offerStatus")).as("the node saw the probe's own tunnel").isEqualTo(200);

    JsonObject notAllowed = ports.get(8443);
    assertThat(notAllowed.getBoolean("routed")).isFalse();
    assertThat(notAllowed.getString("refused")).startsWith(POLICY);
    assertThat(notAllowed.getJsonObject("probe").getString("hop")).isEqualTo("registry");
    assertThat(notAllowed.getJsonObject("probe").getJsonObject("server").getString("code")).isEqualTo("PORT_NOT_ALLOWED");

    JsonObject noListener = ports.get(10000);
    assertThat(noListener.getString("refused")).contains("no public listener");
    assertThat(noListener.getJsonObject("probe").getString("hop")).isEqualTo("frontend");

    JsonObject cert = status.getJsonObject("certificate");
    assertThat(cert.getString("issuer")).contains("Funnel development CA");
    assertThat(cert.getLong("daysLeft")).isPositive();
    // The operator sees the same certificate's days left (the node tells its gateway, the gateway the registry).
    assertThat(nodeJson("web").getLong("certificateDaysLeft")).as("admin node list --json")
        .isCloseTo(cert.getLong("daysLeft"), org.assertj.core.api.Assertions.within(1L));
    assertThat(nodeJson("web").getString("certificateExpiresAt")).isNotBlank();
    JsonObject dns = status.getJsonObject("dns");
    assertThat(dns.getBoolean("run")).isTrue();
    assertThat(dns.getString("listen")).isEqualTo("127.0.0.1:" + dnsPort);
    assertThat(dns.getJsonArray("addresses")).containsExactly("127.0.0.1");
    assertThat(status.getJsonArray("sessions")).singleElement()
        .satisfies(s -> assertThat(((JsonObject) s).getBoolean("up")).isTrue());

    FunnelProcess.Result text = FunnelProcess.run(logs, "status", "--state", webState.toString());
    assertThat(text.stdout()).contains(WEB + ": NOT OK", "  routed:  NO, " + POLICY
        + ": tailnet demo does not allow port 8443 (allowed: 443, 10000)");
    assertThat(String.join("\n", text.stdout())).contains("FAILED at the registry", "FAILED at the frontend",
        "dns: Funnel's DNS on 127.0.0.1:" + dnsPort + " answers 127.0.0.1");

    // Funnelling only what is routed: everything works, exit 0.
    for (String port : List.of("8443", "10000")) {
      FunnelProcess.Result rm = FunnelProcess.run(logs, "node", "serve", "rm", port, "--state", webState.toString());
      assertThat(rm.exit()).as(rm.all()).isZero();
    }
    FunnelProcess.Result ok = FunnelProcess.run(logs, "status", "--state", webState.toString());
    assertThat(ok.exit()).as(ok.all()).isZero();
    assertThat(ok.stdout().get(0)).isEqualTo(WEB + ": OK");
    assertThat(ok.stdout()).anyMatch(l -> l.matches("  probe: +OK, this node's certificate came back in \\d+ ms .*"));
    // What is public, route by route: the URL, each path, its target and its gate.
    String http = "http://127.0.0.1:" + backend.getAddress().getPort();
    for (String[] serve : new String[][] {{"add", "443:/api=text:hello from the api"},
        {"gate", "443:/api", "--deny-cidr", "10.99.0.0/16"}}) {
      List<String> args = new ArrayList<>(List.of("node", "serve"));
      args.addAll(List.of(serve));
      args.addAll(List.of("--state", webState.toString()));
      FunnelProcess.Result r = FunnelProcess.run(logs, args.toArray(String[]::new));
      assertThat(r.exit()).as(r.all()).isZero();
    }
    FunnelProcess.Result routes = FunnelProcess.run(logs, "status", "--state", webState.toString(), "--json",
        "--no-probe");
    JsonObject port443 = byPort(new JsonObject(String.join("\n", routes.stdout()))).get(443);
    assertThat(port443.getString("url")).isEqualTo("https://" + WEB + "/");
    Map<String, JsonObject> byPath = new HashMap<>();
    port443.getJsonArray("routes").forEach(r -> byPath.put(((JsonObject) r).getString("path"), (JsonObject) r));
    assertThat(byPath).containsOnlyKeys("/", "/api");
    assertThat(byPath.get("/").getString("target")).isEqualTo(http);
    assertThat(byPath.get("/").getString("gate")).isEqualTo("none");
    assertThat(byPath.get("/api").getString("target")).startsWith("text:");
    assertThat(byPath.get("/api").getString("gate")).contains("deny-cidr 10.99.0.0/16");
    FunnelProcess.Result routesText = FunnelProcess.run(logs, "status", "--state", webState.toString(), "--no-probe");
    assertThat(routesText.stdout()).contains("https://" + WEB + "/", "  / → " + http + "  (gate: none)")
        .anyMatch(l -> l.startsWith("  /api → text:") && l.endsWith("(gate: deny-cidr 10.99.0.0/16)"));
    FunnelProcess.Result rm = FunnelProcess.run(logs, "node", "serve", "rm", "443:/api", "--state", webState.toString());
    assertThat(rm.exit()).as(rm.all()).isZero();
  }

  @Test
  @Order(3)
  void aTcpTargetIsRecognisedByItsOwnTunnel() throws Exception {
    FunnelProcess.Result run = FunnelProcess.run(logs, "status", "--state", rawState.toString(), "--json");
    assertThat(run.exit()).as(run.all()).isZero();
    JsonObject probe = byPort(new JsonObject(String.join("\n", run.stdout()))).get(443).getJsonObject("probe");
    assertThat(probe.getString("message")).startsWith("this node's local server answered");
    assertThat(probe.getInteger("offerStatus")).isEqualTo(200);
  }

  @Test
  @Order(4)
  void theOperatorSeesMembersNodesAndRefusals() throws Exception {
    // A client asking for a name nobody serves: the frontend refuses it (no_route).
    try (SSLSocket socket = (SSLSocket) TestTls.clientTrusting(state.resolve("ca.pem")).getSocketFactory()
        .createSocket("127.0.0.1", public443)) {
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName("nobody.demo." + DOMAIN)));
      socket.setSSLParameters(params);
      socket.setSoTimeout(10_000);
      socket.startHandshake();
    } catch (IOException expected) {
      // refused with an alert
    }
    JsonObject status = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      FunnelProcess.Result run = admin("status", "--json");
      status = new JsonObject(String.join("\n", run.stdout()));
      if (status.getJsonObject("refusalsLastMinute").getLong("no_route", 0L) >= 1) {
        break;
      }
      Thread.sleep(500);
    }
    assertThat(status.getJsonObject("refusalsLastMinute").getLong("no_route", 0L)).as(status.encodePrettily())
        .isGreaterThanOrEqualTo(1);
    assertThat(status.getJsonObject("nodes").getLong("online")).isEqualTo(2);
    Map<String, Boolean> readyByRole = new HashMap<>();
    JsonArray members = status.getJsonArray("members");
    for (int i = 0; i < members.size(); i++) {
      readyByRole.put(members.getJsonObject(i).getString("role"), members.getJsonObject(i).getBoolean("ready"));
    }
    assertThat(readyByRole).containsEntry("frontend", true).containsEntry("gateway", true)
        .containsEntry("registry", true).containsEntry("dns", true);
    assertThat(status.getLong("tunnelsOpen")).isNotNegative();
    assertThat(status.getDouble("newTunnelsPerSecond")).isNotNegative();

    FunnelProcess.Result text = admin("status");
    assertThat(text.stdout().get(0)).isEqualTo("nodes online:         2 of 2");
    assertThat(String.join("\n", text.stdout())).containsPattern("refusals, last min: +.*no_route \\d+");
  }

  @Test
  @Order(5)
  void stoppingTheLocalAppNamesTheLocalTarget() throws Exception {
    backend.stop(0);
    FunnelProcess.Result run = FunnelProcess.run(logs, "status", "--state", webState.toString(), "--json");
    assertThat(run.exit()).as(run.all()).isEqualTo(1);
    JsonObject probe = byPort(new JsonObject(String.join("\n", run.stdout()))).get(443).getJsonObject("probe");
    assertThat(probe.getBoolean("ok")).isFalse();
    assertThat(probe.getString("hop")).as(probe.encodePrettily()).isEqualTo("local target");
    assertThat(probe.getString("localTarget")).contains("127.0.0.1:" + backend.getAddress().getPort());
  }

  @Test
  @Order(6)
  void aLocalTargetThatIsDownIsOneWarningHoweverManyClientsTryAndItsReturnOneLine() throws Exception {
    // The backend is down since the test before (whose probe was the outage's first failure).
    int port = backend.getAddress().getPort();
    String subject = "port 443: backend http://127.0.0.1:" + port;
    for (int i = 0; i < 40; i++) {
      assertThat(curlStatus()).isEqualTo("502");
    }
    assertThat(web.output().lines().filter(l -> l.contains(subject + " is not answering")))
        .as(web.output()).hasSize(1).allMatch(l -> l.contains("WARNING"));

    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    backend.createContext("/", exchange -> {
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    backend.start();
    assertThat(curlStatus()).isEqualTo("200");
    awaitOutput(web, subject + " answers again (");
    assertThat(web.output()).containsPattern(Pattern.quote(subject) + " answers again \\(\\d{2,} failures over");

    // A serve change to a target nothing listens on is named in the node's log at once.
    int nothing;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      nothing = s.getLocalPort();
    }
    FunnelProcess.Result add = FunnelProcess.run(logs, "node", "serve", "add", "443:/gone=http://127.0.0.1:" + nothing,
        "--state", webState.toString());
    assertThat(add.exit()).as(add.all()).isZero();
    awaitOutput(web, "local target http://127.0.0.1:" + nothing + " is not answering: cannot connect to 127.0.0.1:"
        + nothing + " (Connection refused)");
    // The status checks each route's own target, not only the one the probe's tunnel reaches ("/").
    FunnelProcess.Result gone = FunnelProcess.run(logs, "status", "--state", webState.toString());
    assertThat(gone.exit()).as(gone.all()).isEqualTo(1);
    assertThat(gone.stdout()).as(gone.all()).anyMatch(l -> l.startsWith("  /gone → http://127.0.0.1:" + nothing)
        && l.endsWith("NOT ANSWERING: cannot connect to 127.0.0.1:" + nothing + " (Connection refused)"));
    FunnelProcess.Result rm = FunnelProcess.run(logs, "node", "serve", "rm", "443:/gone", "--state", webState.toString());
    assertThat(rm.exit()).as(rm.all()).isZero();
  }

  @Test
  @Order(7)
  void funnelOffNamesTheRegistry() throws Exception {
    admin("tailnet", "set", "demo", "--funnel", "off");
    // The gateway tells the node (a new Welcome): its log says so, and so does a status without a probe.
    awaitOutput(raw, "public port 443 of " + RAW + " is not routed: " + POLICY
        + ": Funnel is off for tailnet demo");
    FunnelProcess.Result told = FunnelProcess.run(logs, "status", "--state", rawState.toString(), "--json",
        "--no-probe");
    assertThat(told.exit()).as(told.all()).isEqualTo(1);
    JsonObject toldPort = byPort(new JsonObject(String.join("\n", told.stdout()))).get(443);
    assertThat(toldPort.getBoolean("routed")).isFalse();
    assertThat(toldPort.getString("refused")).isEqualTo(POLICY + ": Funnel is off for tailnet demo");
    assertThat(toldPort.getJsonObject("probe")).isNull();
    FunnelProcess.Result run = FunnelProcess.run(logs, "status", "--state", rawState.toString(), "--json");
    assertThat(run.exit()).as(run.all()).isEqualTo(1);
    JsonObject port = byPort(new JsonObject(String.join("\n", run.stdout()))).get(443);
    assertThat(port.getJsonObject("probe").getString("hop")).isEqualTo("registry");
    assertThat(port.getJsonObject("probe").getJsonObject("server").getString("code")).isEqualTo("FUNNEL_OFF");
    assertThat(port.getBoolean("routed")).isFalse();
    assertThat(port.getString("refused")).startsWith(POLICY);
  }

  // ---------------------------------------------------------------- helpers

  /** The status code of GET https://WEB/ through the public listener. */
  private String curlStatus() throws Exception {
    return Exec.run(List.of("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
        "--resolve", WEB + ":" + public443 + ":127.0.0.1", "https://" + WEB + ":" + public443 + "/")).output().trim();
  }

  private static void awaitOutput(FunnelProcess process, String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!process.output().contains(text)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no \"" + text + "\" in:\n" + process.output());
      }
      Thread.sleep(100);
    }
  }

  private FunnelProcess node(String name, String hostname, Path nodeState, String key, String... funnels)
      throws Exception {
    List<String> args = new ArrayList<>(List.of("node", "--server", "127.0.0.1:" + gatewayPort, "--hostname", hostname,
        "--ca", state.resolve("ca.pem").toString(), "--state", nodeState.toString(), "--authkey", key));
    for (String f : funnels) {
      args.addAll(List.of("--funnel", f));
    }
    return FunnelProcess.start(name, logs, List.of(), args.toArray(String[]::new));
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  private JsonObject nodeJson(String name) throws Exception {
    JsonArray nodes = new JsonObject(String.join("\n", admin("node", "list", "--json").stdout())).getJsonArray("nodes");
    for (int i = 0; i < nodes.size(); i++) {
      if (name.equals(nodes.getJsonObject(i).getString("name"))) {
        return nodes.getJsonObject(i);
      }
    }
    throw new AssertionError("no node " + name + " in " + nodes.encode());
  }

  private static Map<Integer, JsonObject> byPort(JsonObject status) {
    Map<Integer, JsonObject> out = new HashMap<>();
    JsonArray ports = status.getJsonArray("public");
    for (int i = 0; i < ports.size(); i++) {
      out.put(ports.getJsonObject(i).getInteger("port"), ports.getJsonObject(i));
    }
    return out;
  }
}
