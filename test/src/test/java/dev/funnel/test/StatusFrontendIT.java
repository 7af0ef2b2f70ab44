package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * {@code funnel status} names the frontend when the only frontend is gone. Real processes in a
 * cluster over Hazelcast (TCP/IP join on loopback): {@code funnel registry} (its embedded store in
 * the shared state directory, so no PostgreSQL), {@code funnel gateway}, {@code funnel frontend} and
 * a {@code funnel node} terminating TLS for an HTTP backend.
 *
 * <p>In order: the probe succeeds; the frontend is frozen ({@code SIGSTOP}: nothing in the cluster
 * can tell yet, as before Hazelcast notices a host gone) and the probe names the frontend after its
 * deadline instead of hanging or blaming the gateway; the frontend is killed with {@code kill -9}
 * and {@code status} asked at once (on loopback Hazelcast sees the refused connection within about
 * a second, about the time the {@code status} JVM takes to start) and again once the operator's
 * status no longer counts it live; a new frontend makes the probe succeed again, and a clean stop
 * of it (SIGTERM) is named the same way. Last, with the gateway killed the probe names the gateway.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StatusFrontendIT {

  static final String DOMAIN = "funnel.localhost";
  static final String WEB = "web.demo." + DOMAIN;

  private final Path logs = Path.of("target", "e2e-logs", "status-frontend");
  private final List<FunnelProcess> processes = new ArrayList<>();
  private final List<Integer> clusterPorts = new ArrayList<>();
  private Path state;
  private Path nodeState;
  private HttpServer backend;
  private FunnelProcess frontend;
  private FunnelProcess gateway;

  @BeforeAll
  void start() throws Exception {
    Path dir = TempDirs.create("funnel-status-frontend");
    state = dir.resolve("state");
    nodeState = dir.resolve("node");
    Files.createDirectories(logs);
    for (int i = 0; i < 5; i++) {
      clusterPorts.add(Ports.free());
    }
    FunnelProcess registry = track(FunnelProcess.start("registry", logs, ClusterIT.JVM,
        clusterArgs("registry", 0, "--domain", DOMAIN, "--admin-listen", "127.0.0.1:0")));
    gateway = track(FunnelProcess.start("gateway", logs, ClusterIT.JVM,
        clusterArgs("gateway", 1, "--gateway-listen", "127.0.0.1:0")));
    frontend = startFrontend("frontend-1", 2);
    assertThat(registry.isAlive()).isTrue();
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String key = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();

    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    backend.createContext("/", exchange -> {
      byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
    track(FunnelProcess.start("node", logs, ClusterIT.JVM, "node",
        "--server", "127.0.0.1:" + gateway.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"),
        "--hostname", "web", "--ca", state.resolve("ca.pem").toString(), "--state", nodeState.toString(),
        "--authkey", key, "--funnel", "443=http://127.0.0.1:" + backend.getAddress().getPort()));
  }

  @AfterAll
  void stop() throws Exception {
    for (FunnelProcess p : processes) {
      p.close();
    }
    if (backend != null) {
      backend.stop(0);
    }
  }

  @Test
  @Order(1)
  void theProbeSucceedsThroughTheClusteredFrontend() throws Exception {
    JsonObject probe = probeUntilOk();
    assertThat(probe.getJsonObject("server").getString("frontendId")).isNotBlank();
    // Across processes: the node's certificate expiry, gateway → registry over the clustered event bus.
    Long days = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (days == null && System.nanoTime() < deadline) {
      JsonObject node = new JsonObject(String.join("\n", admin("node", "list", "--json").stdout()))
          .getJsonArray("nodes").getJsonObject(0);
      days = node.getLong("certificateDaysLeft");
      if (days == null) {
        Thread.sleep(250);
      }
    }
    assertThat(days).as("certificateDaysLeft in admin node list --json").isNotNull().isPositive();
  }

  @Test
  @Order(2)
  void aFrozenFrontendIsNamedWithinTheProbesDeadline() throws Exception {
    // SIGSTOP: the process is there and its ports still accept TCP connections (the kernel answers),
    // so neither Hazelcast nor the event bus can tell yet; the gateway's request waits out its
    // deadline (ProbeRelay, 10 s), well within the node's (15 s) and the command's.
    signal("STOP", frontend.pid());
    try {
      long asked = System.nanoTime();
      FunnelProcess.Result json = status("--json");
      long tookMillis = (System.nanoTime() - asked) / 1_000_000;
      assertFrontendNamed(json);
      System.out.println("status with the frontend frozen answered in " + tookMillis + " ms: "
          + probeOf(json).getString("message"));
    } finally {
      signal("CONT", frontend.pid());
    }
  }

  @Test
  @Order(3)
  void killingTheOnlyFrontendIsNamedAtOnceAndAfterTheClusterNoticed() throws Exception {
    frontend.kill();
    long killed = System.nanoTime();
    // At once: Hazelcast has not yet removed the member (its failure detector takes seconds).
    FunnelProcess.Result json = status("--json");
    long tookMillis = (System.nanoTime() - killed) / 1_000_000;
    assertFrontendNamed(json);
    System.out.println("status right after kill -9 of the frontend answered in " + tookMillis + " ms: "
        + probeOf(json).getString("message"));

    FunnelProcess.Result text = status();
    assertThat(text.exit()).as(text.all()).isEqualTo(1);
    assertThat(text.stdout().get(0)).isEqualTo(WEB + ": NOT OK");
    assertThat(String.join("\n", text.stdout())).contains("FAILED at the frontend");

    // Later, once the operator's status no longer counts the frontend as live (not heard for a
    // few seconds; by then Hazelcast has dropped the member too), the answer is the same.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && liveFrontend()) {
      Thread.sleep(500);
    }
    assertThat(liveFrontend()).as("the killed frontend is still live in admin status after 60 s").isFalse();
    assertFrontendNamed(status("--json"));
  }

  @Test
  @Order(4)
  void aFrontendStoppedCleanlyIsNamedToo() throws Exception {
    frontend = startFrontend("frontend-2", 3);
    probeUntilOk();
    assertThat(frontend.terminate(Duration.ofSeconds(20))).as("SIGTERM stops the frontend").isPresent();
    assertThat(frontend.output()).contains("funnel frontend stopped");
    assertFrontendNamed(status("--json"));
    assertThat(String.join("\n", status().stdout())).contains("FAILED at the frontend");
  }

  @Test
  @Order(5)
  void withTheGatewayGoneTheProbeNamesTheGateway() throws Exception {
    frontend = startFrontend("frontend-3", 4);
    probeUntilOk();
    gateway.kill();
    FunnelProcess.Result run = status("--json");
    assertThat(run.exit()).as(run.all()).isEqualTo(1);
    JsonObject probe = probeOf(run);
    assertThat(probe.getString("hop")).as(probe.encodePrettily()).isEqualTo("gateway");
    assertThat(String.join("\n", status().stdout())).contains("FAILED at the gateway");
  }

  // ---------------------------------------------------------------- helpers

  private static void assertFrontendNamed(FunnelProcess.Result run) {
    assertThat(run.exit()).as("a failed probe exits 1\n" + run.all()).isEqualTo(1);
    JsonObject status = new JsonObject(String.join("\n", run.stdout()));
    assertThat(status.getBoolean("ok")).isFalse();
    JsonObject probe = probeOf(run);
    assertThat(probe.getBoolean("ok")).isFalse();
    assertThat(probe.getString("hop")).as(probe.encodePrettily()).isEqualTo("frontend");
    assertThat(probe.getString("message")).as(probe.encodePrettily()).containsIgnoringCase("frontend");
  }

  private static JsonObject probeOf(FunnelProcess.Result run) {
    JsonArray ports = new JsonObject(String.join("\n", run.stdout())).getJsonArray("public");
    for (int i = 0; i < ports.size(); i++) {
      if (ports.getJsonObject(i).getInteger("port") == 443) {
        return ports.getJsonObject(i).getJsonObject("probe");
      }
    }
    throw new AssertionError("no port 443 in " + String.join("\n", run.stdout()));
  }

  /**
   * Probes until OK (the frontend's listeners reach the registry a moment after it is ready). A
   * node may ask for 10 probes a minute, and the tests before used some: the first probe waits
   * until the operator's status shows the frontend live (that costs no probe), and a probe refused
   * by that limit is tried again once the minute has moved on.
   */
  private JsonObject probeUntilOk() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!liveFrontend() && System.nanoTime() < deadline) {
      Thread.sleep(250);
    }
    FunnelProcess.Result run = null;
    for (int i = 0; i < 10; i++) {
      run = status("--json");
      if (run.exit() != 0 && rateLimited(run)) {
        Thread.sleep(10_000);
        continue;
      }
      if (run.exit() == 0) {
        JsonObject probe = probeOf(run);
        assertThat(probe.getBoolean("ok")).isTrue();
        assertThat(probe.getString("message")).matches("this node's certificate came back in \\d+ ms");
        return probe;
      }
      Thread.sleep(1_000);
    }
    throw new AssertionError("the probe never succeeded:\n" + run.all());
  }

  private static boolean rateLimited(FunnelProcess.Result run) {
    try {
      return "RATE_LIMITED".equals(probeOf(run).getJsonObject("server").getString("outcome"));
    } catch (RuntimeException | AssertionError notAProbe) {
      return false;
    }
  }

  private static void signal(String name, long pid) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).isZero();
  }

  private boolean liveFrontend() throws Exception {
    JsonArray members = new JsonObject(String.join("\n", admin("status", "--json").stdout())).getJsonArray("members");
    for (int i = 0; i < members.size(); i++) {
      JsonObject m = members.getJsonObject(i);
      if ("frontend".equals(m.getString("role")) && m.getBoolean("live")) {
        return true;
      }
    }
    return false;
  }

  private FunnelProcess startFrontend(String name, int clusterIndex) throws Exception {
    return track(FunnelProcess.start(name, logs, ClusterIT.JVM,
        clusterArgs("frontend", clusterIndex, "--domain", DOMAIN, "--public", "443=127.0.0.1:0")));
  }

  private String[] clusterArgs(String command, int index, String... more) {
    List<String> members = new ArrayList<>();
    for (int port : clusterPorts) {
      members.add("127.0.0.1:" + port);
    }
    List<String> args = new ArrayList<>(List.of(command, "--cluster", "--cluster-host", "127.0.0.1", "--cluster-port",
        Integer.toString(clusterPorts.get(index)), "--cluster-members", String.join(",", members),
        "--state", state.toString()));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  private FunnelProcess track(FunnelProcess p) {
    processes.add(p);
    return p;
  }

  private FunnelProcess.Result status(String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("status", "--state", nodeState.toString()));
    args.addAll(List.of(more));
    return FunnelProcess.run(logs, args.toArray(String[]::new));
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }
}
