package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
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
 * Public DNS end to end: a real {@code funnel server --dns-listen 127.0.0.1:0} (UDP and TCP on one
 * ephemeral port, read from the ready line), asked by the real {@code dig} (Debian's dnsutils). A
 * node's name answers A/AAAA only while the node is online in a tailnet with Funnel on; the apex
 * has SOA, NS and CAA; a name outside the zone is refused; an answer too large for 512 bytes comes
 * back truncated and dig gets it whole over TCP.
 *
 * <p>One scenario in order: each test leaves the state the next one starts from.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DnsIT {

  static final String DOMAIN = "funnel.localhost";
  /** Long enough that its 16 AAAA answers do not fit 512 bytes. */
  static final String HOST = "a-node-name-long-enough-to-need-more-than-512-bytes";
  static final String NAME = HOST + ".demo." + DOMAIN;
  static final Pattern SERIAL = Pattern.compile("IN\\s+SOA\\s+\\S+\\s+\\S+\\s+(\\d+)\\s");

  private Path dir;
  private Path state;
  private Path logs;
  private FunnelProcess server;
  private FunnelProcess node;
  private int dnsPort;
  private int gatewayPort;
  private long firstSerial;
  private final List<String> ipv6 = new ArrayList<>();

  @BeforeAll
  void startServer() throws Exception {
    assumeTrue(Exec.run(List.of("sh", "-c", "command -v dig")).exit() == 0,
        "dig is not installed (Debian: apt-get install dnsutils; .ci/run installs it)");
    dir = TempDirs.create("funnel-dns");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "dns");
    Files.createDirectories(logs);
    for (int i = 1; i <= 16; i++) {
      ipv6.add("2001:db8::" + Integer.toHexString(i));
    }
    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--dns-listen", "127.0.0.1:0",
        "--dns-frontends", "eu=192.0.2.10,192.0.2.11," + String.join(",", ipv6),
        "--dns-frontends", "us=198.51.100.10",
        "--dns-gateway-region", "gateway-1=eu",
        "--dns-ns", "ns1." + DOMAIN + "=127.0.0.1", "--dns-ns", "ns2.example.net");
    dnsPort = Integer.parseInt(server.fromReadyLine("dns 127\\.0\\.0\\.1:(\\d+) \\(udp, tcp\\)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
  }

  @AfterAll
  void stopAll() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server}) {
      if (c != null) {
        c.close();
      }
    }
  }

  @Test
  @Order(1)
  void theApexHasSoaNsAndCaaAndNothingOutsideTheZoneIsAnswered() throws Exception {
    String soa = dig(DOMAIN, "SOA");
    assertThat(soa).contains("status: NOERROR").contains("flags: qr aa;").contains("EDNS: version: 0")
        .contains("udp: 1232").contains("ns1.funnel.localhost. hostmaster.funnel.localhost.");
    firstSerial = serial(soa);
    assertThat(dig(DOMAIN, "NS", "+short").lines().toList())
        .containsExactlyInAnyOrder("ns1.funnel.localhost.", "ns2.example.net.");
    assertThat(dig(DOMAIN, "CAA", "+short").strip()).isEqualTo("0 issue \"letsencrypt.org\"");
    assertThat(dig("ns1." + DOMAIN, "A", "+short").strip()).isEqualTo("127.0.0.1");
    assertThat(dig(DOMAIN, "SOA", "+tcp")).as("over TCP").contains("status: NOERROR").containsPattern("IN\\s+SOA");
    assertThat(dig("example.com", "A")).as("no recursion").contains("status: REFUSED");
    assertThat(dig(DOMAIN, "AXFR")).as("no transfers").doesNotContainPattern("IN\\s+A\\s");
  }

  @Test
  @Order(2)
  void aNameThatIsNotRoutableDoesNotExist() throws Exception {
    assertThat(dig(NAME, "A")).contains("status: NXDOMAIN").containsPattern("IN\\s+SOA");
    assertThat(dig("demo." + DOMAIN, "A")).as("no such tailnet yet").contains("status: NXDOMAIN");
  }

  @Test
  @Order(3)
  void aNodeOnlineInATailnetWithFunnelOnAnswersWithItsRegionsFrontends() throws Exception {
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String key = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", key, "--hostname", HOST, "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("node-state").toString(), "--funnel", "443=tcp://127.0.0.1:9");
    String a = Dig.until(dnsPort, NAME, "A", out -> out.contains("status: NOERROR"));
    assertThat(a).contains("flags: qr aa;");
    assertThat(Dig.answers(a)).containsExactlyInAnyOrder("192.0.2.10", "192.0.2.11");
    assertThat(a.replaceAll("[ \t]+", " ")).contains(" 60 IN A 192.0.2.10");
    assertThat(serial(dig(DOMAIN, "SOA"))).as("the serial moved with the records").isGreaterThan(firstSerial);
    String txt = dig(NAME, "TXT");
    assertThat(txt).as("NODATA").contains("status: NOERROR").contains("ANSWER: 0").contains("AUTHORITY: 1");
    assertThat(dig("demo." + DOMAIN, "A")).as("the tailnet exists, with nothing of its own")
        .contains("status: NOERROR").contains("ANSWER: 0");
    assertThat(dig("x." + NAME, "A")).contains("status: NXDOMAIN");
  }

  @Test
  @Order(4)
  void anAnswerTooLargeForUdpIsTruncatedAndDigRetriesOverTcp() throws Exception {
    String aaaa = dig(NAME, "AAAA", "+noedns");
    assertThat(aaaa).contains("Truncated, retrying in TCP mode");
    assertThat(Dig.answers(aaaa)).hasSize(16);
    String withEdns = dig(NAME, "AAAA");
    assertThat(withEdns).doesNotContain("Truncated");
    assertThat(Dig.answers(withEdns)).hasSize(16);
  }

  @Test
  @Order(5)
  void whenTheNodeGoesAwayItsNameStopsExisting() throws Exception {
    node.close();
    node = null;
    String gone = Dig.until(dnsPort, NAME, "A", out -> out.contains("status: NXDOMAIN"));
    assertThat(Dig.answers(gone)).isEmpty();
  }

  // ------------------------------------------------------------ helpers

  private String dig(String name, String type, String... extra) throws Exception {
    return Dig.ask(dnsPort, name, type, extra);
  }

  private static long serial(String digOutput) {
    Matcher m = SERIAL.matcher(digOutput);
    assertThat(m.find()).as(digOutput).isTrue();
    return Long.parseLong(m.group(1));
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }
}
