package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.funnel.dns.push.Knot;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Custom domains end to end, every server real: Knot holds the owner's zone {@code example.test}
 * (records changed with {@code nsupdate} and TSIG), {@code funnel server --dns-listen} is Funnel's
 * DNS for {@code funnel.test}, Unbound is the recursive resolver in front of both (stub zones, no
 * cache) that the registry checks aliases through ({@code --alias-resolver}) and Pebble validates
 * through ({@code -dnsserver}); Pebble's tls-alpn-01 port is the frontend's public port.
 *
 * <p>In order: {@code blog.example.test} (the node's {@code --domain-alias}) is refused while
 * pending → TXT and CNAME published → verified → the node's ACME order names it and Pebble
 * validates it through the funnel → curl trusting only Pebble's root gets the page at
 * https://blog.example.test/ → a name of a node whose tailnet has Funnel off is never routed even
 * with both records → a node without ACME gets a certificate naming its alias from the server's CA →
 * the TXT deleted → refused again after the next check.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AliasIT {

  static final String DOMAIN = "funnel.test";
  static final String ZONE = "example.test";
  static final String NAME = "web.demo." + DOMAIN;
  static final String ALIAS = "blog." + ZONE;
  static final String OFF_NAME = "lab.shut." + DOMAIN;
  static final String OFF_ALIAS = "shop." + ZONE;

  private Path dir;
  private Path state;
  private Path logs;
  private Vertx vertx;
  private RecordingHttpBackend backend;
  private Knot knot;
  private Unbound unbound;
  private FunnelProcess server;
  private FunnelProcess node;
  private FunnelProcess offNode;
  private FunnelProcess devNode;
  private Pebble pebble;
  private int publicPort;
  private int gatewayPort;
  private int dnsPort;

  @BeforeAll
  void start() throws Exception {
    for (String tool : List.of("pebble", "openssl", "curl", "dig", "nsupdate")) {
      assumeTrue(Exec.run(List.of("sh", "-c", "command -v " + tool)).exit() == 0,
          tool + " is not installed (Debian: pebble, openssl, curl, dnsutils; .ci/run installs them)");
    }
    assumeTrue(Knot.binary() != null, "knotd is not installed (Debian: knot; .ci/run installs it)");
    assumeTrue(Unbound.binary() != null, "unbound is not installed (Debian: unbound; .ci/run installs it)");
    dir = TempDirs.create("funnel-alias");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "alias");
    Files.createDirectories(logs);
    vertx = Vertx.vertx();
    backend = new RecordingHttpBackend(vertx);
    knot = Knot.start(dir.resolve("knot"), ZONE);

    int resolverPort = Ports.free();
    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--dns-listen", "127.0.0.1:0", "--dns-frontends", "127.0.0.1",
        "--alias-resolver", "127.0.0.1:" + resolverPort, "--alias-check-interval", "1s");
    publicPort = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    dnsPort = Integer.parseInt(server.fromReadyLine("dns 127\\.0\\.0\\.1:(\\d+) \\(udp, tcp\\)"));
    Map<String, Integer> stubs = new LinkedHashMap<>();
    stubs.put(ZONE, knot.port);
    stubs.put(DOMAIN, dnsPort);
    unbound = Unbound.start(dir.resolve("unbound"), resolverPort, stubs);
    pebble = Pebble.start(dir, logs, "AliasIT", publicPort, unbound.port);

    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    admin("tailnet", "add", "shut", "--funnel", "off", "--ports", "443");
    String key = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    String shutKey = admin("key", "add", "--tailnet", "shut", "--reusable").lastLine().trim();

    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", key, "--hostname", "web", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("node-state").toString(), "--funnel", "443=http://127.0.0.1:" + backend.port(),
        "--domain-alias", ALIAS,
        "--acme", "--acme-directory", pebble.directory(), "--acme-ca", pebble.ca.toString(),
        "--acme-email", "ops@example.com", "--acme-challenge", "tls-alpn-01");
    offNode = FunnelProcess.start("off-node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", shutKey, "--hostname", "lab", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("off-node-state").toString(), "--funnel", "443=http://127.0.0.1:" + backend.port(),
        "--domain-alias", OFF_ALIAS,
        "--acme", "--acme-directory", pebble.directory(), "--acme-ca", pebble.ca.toString(),
        "--acme-email", "ops@example.com", "--acme-challenge", "tls-alpn-01");
  }

  @AfterAll
  void stopAll() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {devNode, offNode, node, server, unbound, knot, pebble}) {
      if (c != null) {
        c.close();
      }
    }
    if (backend != null) {
      backend.close();
    }
    if (vertx != null) {
      vertx.close().await();
    }
  }

  @Test
  @Order(1)
  void aPendingAliasIsRefusedAndTheNodePrintsTheRecordsToPublish() throws Exception {
    waitFor(() -> node.output().contains("alias " + ALIAS + " pending: publish"), "the node's pending line");
    JsonObject alias = alias(ALIAS);
    assertThat(alias.getString("state")).isEqualTo("pending");
    assertThat(alias.getString("target")).isEqualTo(NAME);
    assertThat(alias.getString("token")).matches("funnel-[0-9a-f]{40}");
    assertThat(node.output()).contains("_funnel-challenge." + ALIAS + ". TXT \"" + alias.getString("token") + "\"")
        .contains(ALIAS + ". CNAME " + NAME + ".");
    // The node's own name works (its ACME certificate comes first); the alias is refused at the frontend.
    waitFor(() -> handshake(NAME).contains("DNS:" + NAME), "the node's own certificate");
    assertThat(handshake(ALIAS)).as("the pending alias").contains("unrecognized name");
    // Another tenant's node claiming the name first blocks nobody: it gets its own token, and only the
    // node the CNAME names can ever prove it.
    FunnelProcess.Result rival = admin("alias", "add", "--node", "lab.shut", ALIAS);
    assertThat(rival.all()).contains("alias " + ALIAS + " for " + OFF_NAME + ": pending");
    assertThat(alias(ALIAS, OFF_NAME).getString("token")).isNotEqualTo(alias.getString("token"));
    // One record alone proves nothing.
    nsupdate("update add " + ALIAS + ". 1 CNAME " + NAME + ".");
    Thread.sleep(3_000);
    assertThat(alias(ALIAS).getString("state")).isEqualTo("pending");
    assertThat(alias(ALIAS).getString("reason")).contains("no TXT");
    assertThat(handshake(ALIAS)).contains("unrecognized name");
  }

  @Test
  @Order(2)
  void oncePublishedTheAliasIsVerifiedGetsACertificateThroughTheFunnelAndServesThePage() throws Exception {
    String token = alias(ALIAS).getString("token");
    nsupdate("update add _funnel-challenge." + ALIAS + ". 1 TXT \"" + token + "\"");
    waitFor(() -> node.output().contains("alias " + ALIAS + " verified"), "the node's verified line");
    assertThat(alias(ALIAS).getString("state")).isEqualTo("verified");
    waitFor(() -> alias(ALIAS, OFF_NAME).getString("checkedAt") != null, "a check of the rival claim");
    assertThat(alias(ALIAS, OFF_NAME).getString("state")).as("the rival claim").isEqualTo("pending");

    String presented = until(() -> handshake(ALIAS), out -> out.contains("DNS:" + ALIAS)
        && out.contains("Pebble Intermediate"), 90);
    assertThat(presented).contains("DNS:" + NAME).contains("DNS:" + ALIAS);
    assertThat(node.output()).contains("ACME order for " + NAME + ", " + ALIAS);

    Exec page = Exec.run(List.of("curl", "-sS", "--max-time", "20", "--cacert", pebble.root.toString(), "--connect-to",
        ALIAS + ":443:127.0.0.1:" + publicPort, "-w", "%{http_code}", "https://" + ALIAS + "/"));
    assertThat(page.exit()).as(page.output()).isZero();
    assertThat(page.output()).contains("hello").endsWith("200");

    FunnelProcess.Result status = FunnelProcess.run(logs, "status", "--state", dir.resolve("node-state").toString(),
        "--no-probe");
    assertThat(status.all()).contains("alias: " + ALIAS + " verified");
  }

  @Test
  @Order(3)
  void anAliasOfANodeWhoseTailnetHasFunnelOffIsNeverRouted() throws Exception {
    waitFor(() -> offNode.output().contains("alias " + OFF_ALIAS + " pending"), "the off node's pending line");
    String token = alias(OFF_ALIAS).getString("token");
    nsupdate("update add " + OFF_ALIAS + ". 1 CNAME " + OFF_NAME + ".",
        "update add _funnel-challenge." + OFF_ALIAS + ". 1 TXT \"" + token + "\"");
    waitFor(() -> alias(OFF_ALIAS).getString("reason", "").contains("Funnel is off"), "a check of the off alias");
    Thread.sleep(2_500);   // more checks: still not verified
    JsonObject off = alias(OFF_ALIAS);
    assertThat(off.getString("state")).isEqualTo("pending");
    assertThat(handshake(OFF_ALIAS)).contains("unrecognized name");
    assertThat(offNode.output()).doesNotContain("alias " + OFF_ALIAS + " verified")
        .doesNotContain("ACME: new certificate");
  }

  @Test
  @Order(4)
  void withoutAcmeTheServersCaSignsACertificateNamingTheVerifiedAlias() throws Exception {
    String key = admin("key", "add", "--tailnet", "demo").lastLine().trim();
    String devAlias = "dev." + ZONE;
    String devName = "dev.demo." + DOMAIN;
    devNode = FunnelProcess.start("dev-node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", key, "--hostname", "dev", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("dev-node-state").toString(), "--funnel", "443=http://127.0.0.1:" + backend.port(),
        "--domain-alias", devAlias);
    waitFor(() -> devNode.output().contains("alias " + devAlias + " pending"), "the dev node's pending line");
    nsupdate("update add " + devAlias + ". 1 CNAME " + devName + ".",
        "update add _funnel-challenge." + devAlias + ". 1 TXT \"" + alias(devAlias).getString("token") + "\"");
    waitFor(() -> devNode.output().contains("alias " + devAlias + " verified"), "the dev node's verified line");
    String presented = until(() -> handshake(devAlias), out -> out.contains("DNS:" + devAlias), 30);
    assertThat(presented).contains("DNS:" + devName);
    // Trusting the server's CA (as a test client may), the page comes through under the alias.
    Exec page = Exec.run(List.of("curl", "-sS", "--max-time", "20", "--cacert", state.resolve("ca.pem").toString(),
        "--connect-to", devAlias + ":443:127.0.0.1:" + publicPort, "-w", "%{http_code}", "https://" + devAlias + "/"));
    assertThat(page.output()).contains("hello").endsWith("200");
  }

  @Test
  @Order(5)
  void deletingTheTxtStopsRoutingAfterTheNextCheck() throws Exception {
    String token = alias(ALIAS).getString("token");
    nsupdate("update delete _funnel-challenge." + ALIAS + ". TXT \"" + token + "\"");
    waitFor(() -> handshake(ALIAS).contains("unrecognized name"), "the alias refused again");
    JsonObject alias = alias(ALIAS);
    assertThat(alias.getString("state")).isEqualTo("failed");
    assertThat(alias.getString("reason")).contains("no TXT");
    waitFor(() -> node.output().contains("alias " + ALIAS + " failed its re-check"), "the node's failed line");
    // The node's own name is not affected.
    assertThat(handshake(NAME)).contains("DNS:" + NAME);
  }

  // ---------------------------------------------------------------- helpers

  /** The leaf the frontend's public port presents for {@code name} (SANs, issuer), or the handshake's error. */
  private String handshake(String name) throws Exception {
    return Exec.run(List.of("sh", "-c", "out=$(openssl s_client -connect 127.0.0.1:" + publicPort + " -servername "
        + name + " </dev/null 2>&1); echo \"$out\" | grep -i 'alert\\|errno' ; "
        + "echo \"$out\" | openssl x509 -noout -issuer -ext subjectAltName 2>/dev/null")).output();
  }

  /** The claim of {@code name}: its only one, or the one not made by the Funnel-off node (the rival's). */
  private JsonObject alias(String name) throws Exception {
    return alias(name, null);
  }

  /** The claim of {@code name} whose target (the claiming node's public name) is {@code target}; any when null. */
  private JsonObject alias(String name, String target) throws Exception {
    FunnelProcess.Result list = admin("alias", "list", "--json");
    JsonArray all = new JsonObject(String.join("\n", list.stdout())).getJsonArray("aliases");
    List<JsonObject> claims = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      JsonObject a = all.getJsonObject(i);
      if (a.getString("alias").equals(name) && (target == null || a.getString("target").equals(target))) {
        claims.add(a);
      }
    }
    JsonObject found = claims.size() == 1 ? claims.get(0)
        : claims.stream().filter(a -> !a.getString("target").equals(OFF_NAME)).findFirst().orElse(null);
    if (found == null) {
      throw new AssertionError("no alias " + name + " in " + list.all());
    }
    return found;
  }

  private void nsupdate(String... updates) throws Exception {
    StringBuilder script = new StringBuilder("server 127.0.0.1 " + knot.port + "\nzone " + ZONE + "\n");
    for (String u : updates) {
      script.append(u).append('\n');
    }
    script.append("send\n");
    Exec done = Exec.run(List.of("nsupdate", "-y", "hmac-sha256:" + Knot.KEY + ":" + knot.secret), script.toString());
    assertThat(done.exit()).as("nsupdate\n" + script + done.output()).isZero();
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  private interface Probe {
    String get() throws Exception;
  }

  private static void waitFor(Check check, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!check.holds()) {
      assertThat(System.nanoTime() < deadline).as("waiting for " + what).isTrue();
      Thread.sleep(300);
    }
  }

  private static String until(Probe probe, Predicate<String> done, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    String out = probe.get();
    while (!done.test(out) && System.nanoTime() < deadline) {
      Thread.sleep(500);
      out = probe.get();
    }
    assertThat(done.test(out)).as(out).isTrue();
    return out;
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }
}
