package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * What the people who run Funnel see: every long-running command starts without a WARNING or
 * SEVERE line and prints exactly one line with the word "ready", says when it stopped; every
 * mistake an operator is likely to make ends in one line naming the flag and the value, with exit
 * code 2 (usage) or 1 (runtime). Real processes, loopback only, ephemeral ports.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OpsIT {

  private static final List<String> JVM = ClusterIT.JVM;
  private static final Pattern READY = Pattern.compile("\\bready\\b");
  private static final Pattern BAD_LEVEL = Pattern.compile("\\b(WARNING|SEVERE)\\b|\"level\":\"(WARNING|SEVERE)\"");

  private final Path logs = Path.of("target", "e2e-logs", "ops");
  private final List<FunnelProcess> processes = new ArrayList<>();
  private Path dir;
  private Path state;
  private FunnelProcess server;

  @BeforeAll
  void startServer() throws Exception {
    dir = TempDirs.create("funnel-ops");
    state = dir.resolve("server");
    server = track(FunnelProcess.start("server", logs, JVM, "server", "--state", state.toString(),
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--dns-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"));
  }

  @AfterAll
  void stopAll() throws Exception {
    for (FunnelProcess p : processes) {
      p.close();
    }
  }

  // ------------------------------------------------------------------------------------ clean starts

  /** First: later tests knock on the gateway, which the server may log. */
  @Test
  @Order(1)
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void serverAndNodeStartCleanAndSayWhenTheyStop() throws Exception {
    assertCleanStart(server);
    assertThat(server.output()).doesNotContain("8,443").doesNotContain("15,000").contains("transport: NIO for the data plane, NIO for the control plane");
    assertThat(server.output()).doesNotContain("no native transport");

    admin("tailnet", "add", "ops", "--funnel", "on");
    String key = admin("key", "add", "--tailnet", "ops").lastLine().trim();
    // A local target that accepts (the kernel completes the handshake): a node whose target is not
    // running says so at the start with a WARNING (StatusIT), which is not a clean start.
    try (ServerSocket app = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      FunnelProcess node = track(FunnelProcess.start("node", logs, JVM, "node", "--server", gateway(),
          "--authkey", key, "--hostname", "web", "--ca", state.resolve(DevCa.CA_FILE).toString(),
          "--state", dir.resolve("node").toString(), "--funnel", "443=http://127.0.0.1:" + app.getLocalPort()));
      assertCleanStart(node);
      assertThat(node.stdout()).noneMatch(l -> l.contains("NOT ANSWERING"));
      assertStops(node, "node");
    }
  }

  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void clusteredServicesStartClean() throws Exception {
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ports.add(Ports.free());
    }
    String members = "127.0.0.1:" + ports.get(0) + ",127.0.0.1:" + ports.get(1);
    Path clusterState = dir.resolve("cluster");
    List<List<String>> commands = List.of(
        List.of("registry", "--admin-listen", "127.0.0.1:0"),
        List.of("gateway", "--gateway-listen", "127.0.0.1:0", "--log-format", "json"),
        List.of("frontend", "--public", "443=127.0.0.1:0"),
        List.of("dns", "--dns-listen", "127.0.0.1:0"));
    List<FunnelProcess> started = new ArrayList<>();
    for (int i = 0; i < commands.size(); i++) {
      List<String> args = new ArrayList<>(List.of(commands.get(i).get(0), "--cluster", "--cluster-host", "127.0.0.1",
          "--cluster-port", Integer.toString(ports.get(i)), "--cluster-members", members,
          "--state", clusterState.toString(), "--domain", "ops.localhost"));
      if (args.get(0).equals("gateway")) {
        args.remove("--domain");
        args.remove("ops.localhost");
      }
      args.addAll(commands.get(i).subList(1, commands.get(i).size()));
      // The registry forms the cluster; the others join it.
      FunnelProcess p = track(FunnelProcess.spawn("cluster-" + args.get(0), logs, JVM, args.toArray(String[]::new)));
      p.awaitReady(Duration.ofSeconds(150));
      started.add(p);
    }
    for (FunnelProcess p : started) {
      assertCleanStart(p);
    }
    for (String line : started.get(1).output().split("\n")) {
      if (!line.startsWith("funnel gateway ready")) {
        assertThat(line).as("--log-format json: one object per line").startsWith("{\"time\":");
        assertThat(new io.vertx.core.json.JsonObject(line).fieldNames()).contains("time", "level", "logger", "message");
      }
    }
    for (int i = started.size() - 1; i >= 0; i--) {
      assertStops(started.get(i), commands.get(i).get(0));
    }
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void demoStartsClean() throws Exception {
    FunnelProcess demo = track(FunnelProcess.start("demo", logs, JVM, "demo", "--state", dir.resolve("demo").toString(),
        "--public", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"));
    assertCleanStart(demo);
    assertStops(demo, "demo");
  }

  // ------------------------------------------------------------------------------------ clear errors

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aBusyPortNamesTheFlagAndLeavesNoState() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path fresh = dir.resolve("busy");
      String address = "127.0.0.1:" + busy.getLocalPort();
      FunnelProcess.Result r = FunnelProcess.run(logs, "server", "--state", fresh.toString(), "--admin-listen", address,
          "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0");
      assertOneLineError(r, 1, "funnel server: --admin-listen " + address + ": address already in use");
      assertThat(fresh).doesNotExist();
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void anUnreadableCaIsAUsageError() throws Exception {
    Path missing = dir.resolve("no-such-ca.pem");
    FunnelProcess.Result r = FunnelProcess.run(logs, "node", "--server", gateway(), "--hostname", "web",
        "--ca", missing.toString(), "--state", dir.resolve("node-missing-ca").toString(), "--funnel", "443=http://127.0.0.1:9");
    assertOneLineError(r, 2, "funnel node: --ca " + missing + ": no such file; pass the server's ca.pem");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aCaThatIsNotPemIsAUsageError() throws Exception {
    Path junk = Files.writeString(dir.resolve("junk-ca.pem"), "not a certificate\n");
    FunnelProcess.Result r = FunnelProcess.run(logs, "node", "--server", gateway(), "--hostname", "web",
        "--ca", junk.toString(), "--state", dir.resolve("node-junk-ca").toString(), "--funnel", "443=http://127.0.0.1:9");
    assertOneLineError(r, 2, "funnel node: --ca " + junk + ": not a PEM certificate (no -----BEGIN CERTIFICATE-----"
        + " block); pass the server's ca.pem");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aStateDirectoryThatCannotBeWritten() throws Exception {
    // Tests may run as root, for whom permission bits do not stop a write: a file where the
    // directory's parent should be cannot be written by anyone.
    Path file = Files.writeString(dir.resolve("a-file"), "x");
    Path bad = file.resolve("state");
    FunnelProcess.Result r = FunnelProcess.run(logs, "server", "--state", bad.toString(),
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
    assertOneLineError(r, 1, "funnel server: --state " + bad + ": " + file + " is not a directory");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aKeyThatIsNotPem() throws Exception {
    Path junk = Files.writeString(dir.resolve("junk.key"), "not a key\n");
    FunnelProcess.Result r = FunnelProcess.run(logs, "node", "--server", gateway(), "--hostname", "web",
        "--ca", state.resolve(DevCa.CA_FILE).toString(), "--cert", state.resolve(DevCa.CA_FILE).toString(),
        "--key", junk.toString(), "--state", dir.resolve("node-junk").toString(), "--funnel", "443=http://127.0.0.1:9");
    assertOneLineError(r, 2, "funnel node: --key " + junk + ": not a PEM private key");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aCaThatDidNotSignTheGatewayStopsTheNode() throws Exception {
    Path other = dir.resolve("other-ca");
    DevCa.loadOrCreate(other);
    Path otherCa = other.resolve(DevCa.CA_FILE);
    FunnelProcess.Result r = FunnelProcess.run(logs, "node", "--server", gateway(), "--hostname", "web",
        "--authkey", "fnl-auth-unused", "--ca", otherCa.toString(), "--state", dir.resolve("node-other-ca").toString(),
        "--funnel", "443=http://127.0.0.1:9");
    assertOneLineError(r, 1, "funnel node: --ca " + otherCa + ": the gateway's certificate at " + gateway()
        + " is not signed by --ca " + otherCa);
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aSecondServerOnTheSameStateSaysSo() throws Exception {
    FunnelProcess.Result r = FunnelProcess.run(logs, "server", "--state", state.toString(),
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
    assertOneLineError(r, 1, "funnel server: --state " + state
        + ": another funnel server or demo uses this state directory");
    assertThat(r.all()).doesNotContain("The file is locked");
  }

  // ------------------------------------------------------------------------------ new-user papercuts

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aPortThatIsNotAFunnelPortIsAUsageError() throws Exception {
    FunnelProcess.Result r = FunnelProcess.run(logs, "node", "--server", gateway(), "--hostname", "web",
        "--ca", state.resolve(DevCa.CA_FILE).toString(), "--funnel", "22=tcp://127.0.0.1:22");
    assertOneLineError(r, 2, "funnel node: --funnel 22=tcp://127.0.0.1:22: public port 22 is not a Funnel port;"
        + " use one of 443, 8443, 10000");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aTargetWithoutASchemeListsTheAcceptedOnes() throws Exception {
    FunnelProcess.Result r = FunnelProcess.run(logs, "node", "--server", gateway(), "--hostname", "web",
        "--ca", state.resolve(DevCa.CA_FILE).toString(), "--funnel", "443=127.0.0.1:3000");
    assertOneLineError(r, 2, "funnel node: --funnel 443=127.0.0.1:3000: bad target '127.0.0.1:3000': no scheme;"
        + " use one of tcp://HOST:PORT, http://HOST:PORT[/path], https+insecure://HOST:PORT[/path],"
        + " tls-terminated-tcp://HOST:PORT, file:///DIR[?listing], text:STRING, redirect:URL"
        + " (e.g. http://127.0.0.1:3000)");
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void stoppingARetryingNodeIsQuiet() throws Exception {
    int closed = Ports.free();
    FunnelProcess node = track(FunnelProcess.spawn("node-retrying", logs, JVM, "node", "--server", "127.0.0.1:" + closed,
        "--authkey", "fnl-auth-unused", "--hostname", "web", "--ca", state.resolve(DevCa.CA_FILE).toString(),
        "--state", dir.resolve("node-retrying").toString(), "--funnel", "443=http://127.0.0.1:9"));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!node.output().contains("(attempt 3)") && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    assertThat(node.output()).contains("(attempt 3)");
    // An unreachable gateway: one WARNING naming the flag, the value and what to do; the retries at INFO.
    assertThat(node.output().lines().filter(l -> BAD_LEVEL.matcher(l).find()).toList()).as(node.output())
        .singleElement().satisfies(l -> assertThat(l).contains("--server 127.0.0.1:" + closed + ": cannot log in:")
            .contains("check that funnel server or funnel gateway runs there"));
    assertStops(node, "node");
    assertThat(node.output()).doesNotContain("cannot start").doesNotContain("un-deployed");
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void versionAndHelp() throws Exception {
    FunnelProcess.Result version = FunnelProcess.run(logs, "--version");
    assertThat(version.exit()).isZero();
    assertThat(version.lastLine()).matches("funnel \\d+\\.\\d+\\.\\d+.*").doesNotContain("development");

    FunnelProcess.Result help = FunnelProcess.run(logs, "--help");
    assertThat(help.exit()).isZero();
    List<String> lines = help.stdout();
    int commands = lines.indexOf("Commands:");
    assertThat(commands).isPositive();
    StringBuilder entry = new StringBuilder();
    for (String line : lines.subList(commands + 1, lines.size())) {
      if (!line.startsWith("    ") && entry.length() > 0) {
        assertThat(entry.toString().strip()).as("a command's one-line description ends a sentence").endsWith(".");
        entry.setLength(0);
      }
      if (line.isBlank()) {
        break;
      }
      entry.append(' ').append(line.strip());
    }
    for (String line : lines) {
      assertThat(line.length()).as(line).isLessThanOrEqualTo(110);
    }
    assertThat(String.join("\n", lines)).contains("(everything in one JVM, with a working curl line)");
  }

  // ------------------------------------------------------------------------------------------ helpers

  private String gateway() throws Exception {
    return "127.0.0.1:" + server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)");
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  private FunnelProcess track(FunnelProcess p) {
    processes.add(p);
    return p;
  }

  private static void assertCleanStart(FunnelProcess p) {
    String output = p.output();
    assertThat(output.lines().filter(l -> BAD_LEVEL.matcher(l).find()).toList()).as(output).isEmpty();
    assertThat(output.lines().filter(l -> READY.matcher(l).find()).toList()).as(output).hasSize(1);
    assertThat(p.stdout().stream().filter(l -> READY.matcher(l).find()).toList()).as(output).hasSize(1);
    // No duplicated log lines (a second handler would print every line twice): the transport line once.
    assertThat(output.lines().filter(l -> l.contains("transport: ")).toList()).as(output).hasSize(1);
  }

  private static void assertStops(FunnelProcess p, String command) throws Exception {
    assertThat(p.terminate(Duration.ofSeconds(30))).as(p.output()).isPresent();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!p.output().contains("funnel " + command + " stopped") && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(p.output()).contains("funnel " + command + " stopped");
  }

  private static void assertOneLineError(FunnelProcess.Result r, int exit, String line) {
    assertThat(r.exit()).as(r.all()).isEqualTo(exit);
    List<String> lines = r.all().lines().filter(l -> !l.isBlank()).toList();
    assertThat(lines).as(r.all()).hasSize(1);
    assertThat(lines.get(0)).startsWith(line);
    assertThat(r.all()).doesNotContain("\tat ").doesNotContain("Exception");
  }
}
