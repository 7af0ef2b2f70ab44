package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.funnel.dns.push.Knot;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * RFC 2136 push end to end: a real Knot DNS primary ({@link Knot}: Debian's {@code knotd} with a
 * zone {@code example.test} that takes updates and transfers signed by one TSIG key), a real
 * {@code funnel server --dns-push …} for the base domain {@code funnel.example.test} below it, a
 * real {@code funnel node}, and the real {@code dig} and {@code nsupdate} (Debian's dnsutils)
 * asking and changing Knot directly.
 *
 * <p>One scenario in order: each test leaves the state the next one starts from.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DnsPushIT {

  static final String ZONE = "example.test";
  static final String DOMAIN = "funnel." + ZONE;
  static final String NAME = "web.demo." + DOMAIN;
  static final String GHOST = "ghost.demo." + DOMAIN;
  static final String FRONTEND = "192.0.2.10";
  static final Pattern PUSHES = Pattern.compile("(?m)^funnel_dns_push_total\\{outcome=\"(\\w+)\"} (\\S+)$");

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path dir;
  private Path state;
  private Path logs;
  private Path keyFile;
  private Knot knot;
  private FunnelProcess server;
  private FunnelProcess node;
  private String authkey;
  private int gatewayPort;
  private int metricsPort;
  private int restarts;

  @BeforeAll
  void start() throws Exception {
    assumeTrue(Knot.binary() != null, "knotd is not installed (Debian: apt-get install knot; .ci/run installs it)");
    for (String tool : List.of("dig", "nsupdate")) {
      assumeTrue(Exec.run(List.of("sh", "-c", "command -v " + tool)).exit() == 0,
          tool + " is not installed (Debian: apt-get install dnsutils; .ci/run installs it)");
    }
    dir = TempDirs.create("funnel-dns-push");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "dns-push");
    Files.createDirectories(logs);
    knot = Knot.start(dir.resolve("knot"), ZONE, "www 300 A 192.0.2.80");
    // A BIND-style key file, as tsig-keygen writes it: the secret never goes on a command line.
    keyFile = Files.writeString(dir.resolve("tsig.key"), "key \"" + Knot.KEY + "\" {\n\talgorithm hmac-sha256;\n\tsecret \""
        + knot.secret + "\";\n};\n");
    startServer();
  }

  @AfterAll
  void stopAll() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server, knot}) {
      if (c != null) {
        c.close();
      }
    }
  }

  @Test
  @Order(1)
  void theApexGetsItsCaaAndTheOperatorsOwnRecordsStay() throws Exception {
    String caa = Dig.until(knot.port, DOMAIN, "CAA", out -> !Dig.answers(out).isEmpty());
    assertThat(Dig.answers(caa)).containsExactly("\"letsencrypt.org\"");
    assertThat(Dig.answers(dig("www." + ZONE, "A"))).containsExactly("192.0.2.80");
    assertThat(dig(NAME, "A")).contains("status: NXDOMAIN");
  }

  @Test
  @Order(2)
  void aNodeOnlineInATailnetWithFunnelOnAppearsAtThePrimaryAndGoesWhenItStops() throws Exception {
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    authkey = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    startNode();
    assertThat(Dig.answers(Dig.until(knot.port, NAME, "A", out -> out.contains("status: NOERROR"))))
        .containsExactly(FRONTEND);
    assertThat(dig(NAME, "A").replaceAll("[ \t]+", " ")).contains(" 60 IN A " + FRONTEND);
    assertThat(Dig.answers(dig(NAME, "AAAA"))).containsExactly("2001:db8::10");

    node.close();
    node = null;
    Dig.until(knot.port, NAME, "A", out -> out.contains("status: NXDOMAIN"));
    assertThat(dig(NAME, "AAAA")).contains("status: NXDOMAIN");
    assertThat(pushes("pushed")).isGreaterThanOrEqualTo(3);
  }

  @Test
  @Order(3)
  void afterAKilledServerTheZoneConvergesWithWhatChangedWhileItWasDown() throws Exception {
    startNode();
    Dig.until(knot.port, NAME, "A", out -> out.contains("status: NOERROR"));

    server.kill();
    // While Funnel is down: the node goes away, and someone adds a record of Funnel's shape by hand.
    node.close();
    node = null;
    Exec added = nsupdate(keyFile(knot.secret), "update add " + GHOST + " 60 A 192.0.2.66");
    assertThat(added.exit()).as(added.output()).isZero();
    assertThat(Dig.answers(dig(GHOST, "A"))).containsExactly("192.0.2.66");
    assertThat(Dig.answers(dig(NAME, "A"))).as("still there: nobody told the primary").containsExactly(FRONTEND);

    startServer();
    Dig.until(knot.port, NAME, "A", out -> out.contains("status: NXDOMAIN"));
    Dig.until(knot.port, GHOST, "A", out -> out.contains("status: NXDOMAIN"));
    assertThat(Dig.answers(dig("www." + ZONE, "A"))).containsExactly("192.0.2.80");
    assertThat(Dig.answers(dig(DOMAIN, "CAA"))).containsExactly("\"letsencrypt.org\"");
  }

  @Test
  @Order(4)
  void whileThePrimaryIsDownPushesRetryAndConvergeWhenItIsBack() throws Exception {
    startNode();
    Dig.until(knot.port, NAME, "A", out -> out.contains("status: NOERROR"));

    knot.kill();
    node.close();
    node = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (pushes("unreachable") < 2 && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    assertThat(pushes("unreachable")).as("retried while the primary was down").isGreaterThanOrEqualTo(2);

    knot.restart();
    assertThat(Dig.answers(dig(NAME, "A"))).as("Knot kept the old record in its journal").containsExactly(FRONTEND);
    Dig.until(knot.port, NAME, "A", out -> out.contains("status: NXDOMAIN"));
    assertThat(server.output()).as("one warning for the failure kind, not one per retry")
        .containsOnlyOnce("dns push to 127.0.0.1:" + knot.port + " failed");
  }

  @Test
  @Order(5)
  void thePrimaryRefusesAnUpdateSignedWithAnotherKey() throws Exception {
    Exec refused = nsupdate(keyFile("b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyMTI="), "update add " + GHOST + " 60 A 192.0.2.66");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.output()).contains("NOTAUTH(BADSIG)");
    Exec unsigned = nsupdate(null, "update add " + GHOST + " 60 A 192.0.2.66");
    assertThat(unsigned.exit()).isNotZero();
    assertThat(unsigned.output()).contains("NOTAUTH");
    assertThat(dig(GHOST, "A")).contains("status: NXDOMAIN");
    assertThat(pushes("refused")).as("Funnel's own updates were all accepted").isZero();
  }

  // ------------------------------------------------------------ helpers

  private void startServer() throws Exception {
    restarts++;
    server = FunnelProcess.start("server-" + restarts, logs, List.of(), "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        "--dns-frontends", FRONTEND + ",2001:db8::10",
        "--dns-push", "127.0.0.1:" + knot.port, "--dns-push-zone", ZONE,
        "--dns-push-tsig", Knot.KEY + ":hmac-sha256:" + keyFile);
    assertThat(server.fromReadyLine("(dns push 127\\.0\\.0\\.1:\\d+ \\(zone " + ZONE.replace(".", "\\.") + "\\))"))
        .isNotEmpty();
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    metricsPort = Integer.parseInt(server.fromReadyLine("metrics http://127\\.0\\.0\\.1:(\\d+)"));
  }

  private void startNode() throws Exception {
    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authkey, "--hostname", "web", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("node-state").toString(), "--funnel", "443=tcp://127.0.0.1:9");
  }

  private String dig(String name, String type) throws Exception {
    return Dig.ask(knot.port, name, type);
  }

  /** A key file for nsupdate -k with the TSIG key's name and {@code secret}. */
  private Path keyFile(String secret) throws Exception {
    return Files.writeString(Files.createTempFile(dir, "nsupdate", ".key"),
        "key \"" + Knot.KEY + "\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + secret + "\";\n};\n");
  }

  /** Runs nsupdate against Knot with {@code commands} (signed with the key in {@code key}, or unsigned when null). */
  private Exec nsupdate(Path key, String... commands) throws Exception {
    List<String> command = new ArrayList<>(List.of("nsupdate", "-v", "-t", "5"));
    if (key != null) {
      command.addAll(List.of("-k", key.toString()));
    }
    String script = "server 127.0.0.1 " + knot.port + "\nzone " + ZONE + "\n" + String.join("\n", commands) + "\nsend\n";
    return Exec.run(command, script);
  }

  /** {@code funnel_dns_push_total{outcome}} from the server's metrics. */
  private double pushes(String outcome) throws Exception {
    HttpResponse<String> scrape = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    Matcher m = PUSHES.matcher(scrape.body());
    while (m.find()) {
      if (m.group(1).equals(outcome)) {
        return Double.parseDouble(m.group(2));
      }
    }
    throw new AssertionError("no funnel_dns_push_total{outcome=\"" + outcome + "\"} in:\n" + scrape.body());
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }
}
