package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Funnel scaled out, every service its own JVM on loopback: two registries sharing a real
 * PostgreSQL, three gateways, two frontends, clustered over Hazelcast (TCP/IP join), and two nodes
 * each holding sessions with two gateways ({@code --sessions 2}). Node {@code a} serves HTTP through
 * its TLS terminator, node {@code b} a raw TLS server holding its own key.
 *
 * <p>In order: real curl through either frontend reaches either node; {@code kill -9} of the gateway
 * serving node a during a steady stream of new connections (no connection fails once the nodes have
 * noticed); {@code kill -9} of a registry (resolves keep working, nothing acknowledged is lost);
 * {@code kill -9} of a frontend (the other keeps serving); everything stopped and started again
 * (durable state intact). The figures (cluster formation, connect → resolvable on every frontend,
 * chaos counts and detection time) are printed and written to {@code target/e2e-logs/cluster/figures.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
@Isolated("nine JVMs and a chaos test that counts failed connections")
class ClusterIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME_A = "a.demo." + DOMAIN;
  /**
   * What node a's backend serves at /big: a download that outlives a gateway's SIGTERM at 8 MB/s,
   * more than every buffer between node and curl holds.
   */
  private static final byte[] BIG = new byte[32 * 1024 * 1024];

  static {
    new java.util.Random(6).nextBytes(BIG);
  }
  static final String NAME_B = "b.demo." + DOMAIN;
  /** Small JVMs, quick to start: nine of them share two cores. */
  static final List<String> JVM = List.of("-Xmx128m", "-Xss512k", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
  static final Pattern LOG_TIME = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");

  private final Path logs = Path.of("target", "e2e-logs", "cluster");
  private final Map<String, String> figures = new LinkedHashMap<>();
  private final List<FunnelProcess> processes = Collections.synchronizedList(new ArrayList<>());
  private Path dir;
  private Path state;
  private Postgres postgres;
  private HttpServer backendA;
  private TinyTlsServer backendB;
  private SSLContext client;
  private String authKey;

  /** One cluster generation: the server processes and what their ready lines said. */
  private final class Cluster {
    final List<Integer> clusterPorts = new ArrayList<>();
    FunnelProcess reg1;
    FunnelProcess reg2;
    final List<FunnelProcess> gateways = new ArrayList<>();
    final List<FunnelProcess> frontends = new ArrayList<>();
    final Map<FunnelProcess, String> gatewayIds = new LinkedHashMap<>();
    long formedMillis;
    String joinMillis;

    String members() {
      return clusterPorts.stream().map(p -> "127.0.0.1:" + p).collect(Collectors.joining(","));
    }

    List<String> clusterArgs(String command, int index) {
      return new ArrayList<>(List.of(command, "--cluster", "--cluster-host", "127.0.0.1", "--cluster-port",
          Integer.toString(clusterPorts.get(index)), "--cluster-members", members(), "--state", state.toString()));
    }

    int frontendPort(int i) throws Exception {
      return Integer.parseInt(frontends.get(i).fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    }

    String gatewayAddresses() throws Exception {
      List<String> out = new ArrayList<>();
      for (FunnelProcess g : gateways) {
        out.add("127.0.0.1:" + g.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
      }
      return String.join(",", out);
    }

    String adminUrl(FunnelProcess registry) throws Exception {
      return "http://127.0.0.1:" + registry.fromReadyLine("admin http://127\\.0\\.0\\.1:(\\d+)");
    }

    FunnelProcess gatewayWithId(String id) {
      return gatewayIds.entrySet().stream().filter(e -> e.getValue().equals(id)).map(Map.Entry::getKey).findFirst()
          .orElseThrow(() -> new IllegalStateException("no gateway " + id + " in " + gatewayIds.values()));
    }
  }

  private Cluster cluster;
  private FunnelProcess nodeA;
  private FunnelProcess nodeB;

  @BeforeAll
  void startCluster() throws Exception {
    assumeTrue(Postgres.binDir().isPresent(), "PostgreSQL is not installed (.ci/run installs Debian's postgresql)");
    dir = TempDirs.create("funnel-cluster");
    state = dir.resolve("state");
    Files.createDirectories(logs);
    postgres = Postgres.start(logs, Ports.free());

    cluster = startServers("");
    record("cluster formation (first member spawned → all 7 ready)", cluster.formedMillis + " ms");
    record("cluster join per process (JVM start to joined, from the ready lines)", cluster.joinMillis);
    client = TestTls.clientTrusting(state.resolve(DevCa.CA_FILE));

    admin(cluster, cluster.reg1, "tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    authKey = admin(cluster, cluster.reg2, "key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    assertThat(authKey).startsWith("fnl-auth-");

    backendA = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    backendA.createContext("/", exchange -> {
      byte[] body = "hello from node a\n".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    backendA.createContext("/big", exchange -> {
      exchange.sendResponseHeaders(200, BIG.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(BIG);
      }
    });
    backendA.setExecutor(Executors.newFixedThreadPool(4));
    backendA.start();
    DevCa.KeyAndChain certB = DevCa.loadOrCreate(state).issue(List.of(NAME_B), Duration.ofDays(1));
    backendB = new TinyTlsServer(TestTls.server(certB.keyPem(), certB.chainPem()), "hello from node b\n");

    nodeA = startNode("a", "443=http://127.0.0.1:" + backendA.getAddress().getPort(), cluster, "");
    long resolvableA = untilResolvableEverywhere(nodeA, NAME_A, "hello from node a");
    nodeB = startNode("b", "443=tcp://127.0.0.1:" + backendB.port(), cluster, "");
    long resolvableB = untilResolvableEverywhere(nodeB, NAME_B, "hello from node b");
    record("node b (tcp:// target) session up → resolvable on both frontends", resolvableB + " ms");
    record("node a (http:// target, terminator) session up → resolvable on both frontends", resolvableA + " ms");
    untilTwoSessions("a", cluster, null);
    untilTwoSessions("b", cluster, null);
  }

  @AfterAll
  void stopAll() throws Exception {
    for (FunnelProcess p : List.copyOf(processes)) {
      p.close();
    }
    if (backendA != null) {
      backendA.stop(0);
      ((ExecutorService) backendA.getExecutor()).shutdownNow();
    }
    if (backendB != null) {
      backendB.close();
    }
    if (postgres != null) {
      postgres.close();
    }
    if (dir != null) {
      TempDirs.deleteTree(dir);
    }
    if (!figures.isEmpty()) {
      StringBuilder out = new StringBuilder("ClusterIT figures (2 cores, loopback, 9 JVMs)\n");
      figures.forEach((k, v) -> out.append("  ").append(k).append(": ").append(v).append('\n'));
      System.out.print(out);
      Files.writeString(logs.resolve("figures.txt"), out);
    }
  }

  @Test
  @Order(1)
  void curlThroughEitherFrontendReachesEitherNode() throws Exception {
    for (int f = 0; f < 2; f++) {
      int port = cluster.frontendPort(f);
      for (String[] node : new String[][] {{NAME_A, "hello from node a"}, {NAME_B, "hello from node b"}}) {
        Exec curl = Exec.run(List.of("curl", "-sS", "--fail", "--max-time", "20",
            "--cacert", state.resolve(DevCa.CA_FILE).toString(),
            "--connect-to", node[0] + ":443:127.0.0.1:" + port, "https://" + node[0] + "/"));
        assertThat(curl.exit()).as("curl via frontend %d to %s: %s", f + 1, node[0], curl.output()).isZero();
        assertThat(curl.output()).isEqualTo(node[1] + "\n");
      }
    }
  }

  @Test
  @Order(2)
  @Tag("chaos")
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void killingTheGatewayOfARouteDuringAStreamOfConnections() throws Exception {
    String servingA = sessionsOf(cluster, cluster.reg1, "a").get(0);
    FunnelProcess victim = cluster.gatewayWithId(servingA);
    String victimAddress = "127.0.0.1:" + victim.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)");
    boolean bOnVictim = sessionsOf(cluster, cluster.reg1, "b").contains(servingA);

    int perSecond = 20;
    int seconds = 30;
    long start = System.currentTimeMillis();
    long killAt = start + 10_000;
    ExecutorService pool = Executors.newFixedThreadPool(48);
    List<CompletableFuture<Attempt>> attempts = new ArrayList<>();
    int[] ports = {cluster.frontendPort(0), cluster.frontendPort(1)};
    long killedAt = -1;
    for (int i = 0; i < perSecond * seconds; i++) {
      long due = start + i * 1000L / perSecond;
      if (killedAt < 0 && due >= killAt) {
        sleepUntil(killAt);
        killedAt = System.currentTimeMillis();
        victim.kill();
      }
      sleepUntil(due);
      int port = ports[i % 2];
      boolean toA = (i / 2) % 2 == 0;
      attempts.add(CompletableFuture.supplyAsync(() -> attempt(port, toA ? NAME_A : NAME_B,
          toA ? "hello from node a" : "hello from node b"), pool));
    }
    CompletableFuture.allOf(attempts.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);
    pool.shutdown();
    processes.remove(victim);

    long detectedA = detectedAt(nodeA, victimAddress);
    long detected = bOnVictim ? Math.max(detectedA, detectedAt(nodeB, victimAddress)) : detectedA;
    List<Attempt> all = attempts.stream().map(CompletableFuture::join).toList();
    List<Attempt> failedBefore = all.stream().filter(a -> !a.ok() && a.startMillis() < detected).toList();
    List<Attempt> failedAfter = all.stream().filter(a -> !a.ok() && a.startMillis() >= detected).toList();
    long slowest = all.stream().mapToLong(a -> a.endMillis() - a.startMillis()).max().orElse(0);
    record("gateway chaos: new connections", all.size() + " at " + perSecond + "/s over " + seconds + " s, killed "
        + servingA + " (node a's route" + (bOnVictim ? ", and one of node b's sessions" : "") + ") at +"
        + (killedAt - start) + " ms");
    record("gateway chaos: kill -9 → detected by the node(s)", (detected - killedAt) + " ms");
    record("gateway chaos: failed before detection", failedBefore.size() + " " + describe(failedBefore));
    record("gateway chaos: failed after detection", failedAfter.size() + " " + describe(failedAfter));
    record("gateway chaos: slowest connection", slowest + " ms");
    assertThat(failedAfter).as("connections that failed after the node noticed the gateway was gone").isEmpty();

    // The node replaced the lost session with one on the third gateway (its log says when), and
    // the registries agree: two sessions, none on the dead gateway.
    long replaced = logTimeAfter(nodeA, "session up as " + Pattern.quote(NAME_A) + " .*2 of 2 sessions up", detectedA);
    record("gateway chaos: kill -9 → node a holds two sessions again (on the third gateway)",
        (replaced - killedAt) + " ms");
    untilTwoSessions("a", cluster, servingA);
    cluster.gateways.remove(victim);
  }

  @Test
  @Order(3)
  @Tag("chaos")
  void killingARegistryLosesNothingAndResolvesKeepWorking() throws Exception {
    // A write acknowledged by the registry about to die, just before it dies.
    String keyLine = admin(cluster, cluster.reg1, "key", "add", "--tailnet", "demo", "--expiry", "1h").lastLine().trim();
    assertThat(keyLine).startsWith("fnl-auth-");
    long killedAt = System.currentTimeMillis();
    cluster.reg1.kill();
    processes.remove(cluster.reg1);
    // A tailnet change through the surviving registry makes every frontend drop its cached routes,
    // so the connections below really resolve (half of those requests would go to the dead one).
    patch(cluster, cluster.reg2, "/v1/tailnets/demo", new JsonObject().put("ports", new JsonArray(List.of(443))));

    // Right away and for the next few seconds: every new connection through either frontend resolves.
    List<Attempt> after = new ArrayList<>();
    int[] ports = {cluster.frontendPort(0), cluster.frontendPort(1)};
    for (int i = 0; i < 40; i++) {
      boolean toA = i % 2 == 0;
      after.add(attempt(ports[(i / 2) % 2], toA ? NAME_A : NAME_B, toA ? "hello from node a" : "hello from node b"));
      Thread.sleep(100);
    }
    List<Attempt> failed = after.stream().filter(a -> !a.ok()).toList();
    record("registry chaos: connections in the 5 s after kill -9 of a registry", after.size() + ", failed "
        + failed.size() + " " + describe(failed));
    assertThat(failed).isEmpty();

    // Nothing lost: the other registry has every tailnet, key and node, and both nodes still online on two gateways.
    JsonArray keys = get(cluster, cluster.reg2, "/v1/keys").getJsonArray("keys");
    assertThat(keys.size()).as("keys seen by the surviving registry").isEqualTo(2);
    assertThat(get(cluster, cluster.reg2, "/v1/tailnets").getJsonArray("tailnets").getJsonObject(0).getBoolean("funnel"))
        .isTrue();
    assertThat(sessionsOf(cluster, cluster.reg2, "a")).hasSize(2);
    assertThat(sessionsOf(cluster, cluster.reg2, "b")).hasSize(2);
    record("registry chaos: what the surviving registry holds", "2 keys (one added through the killed registry"
        + " just before), tailnet demo on, nodes a and b online on 2 gateways each (checked "
        + (System.currentTimeMillis() - killedAt) + " ms after the kill)");
  }

  @Test
  @Order(4)
  void killingAFrontendLeavesTheOtherServing() throws Exception {
    FunnelProcess dead = cluster.frontends.get(0);
    dead.kill();
    processes.remove(dead);
    int port = cluster.frontendPort(1);
    for (int i = 0; i < 6; i++) {
      boolean toA = i % 2 == 0;
      Attempt a = attempt(port, toA ? NAME_A : NAME_B, toA ? "hello from node a" : "hello from node b");
      assertThat(a.ok()).as(a.detail()).isTrue();
    }
  }

  @Test
  @Order(5)
  @Timeout(value = 200, unit = TimeUnit.SECONDS)
  void restartingEverythingKeepsDurableState() throws Exception {
    // reg2 survives the registry chaos test (which kills reg1) when that test runs.
    int keysBefore = get(cluster, cluster.reg2, "/v1/keys").getJsonArray("keys").size();
    for (FunnelProcess p : List.copyOf(processes)) {
      p.close();
    }
    processes.clear();
    postgres.stopServer();
    postgres.startServer();

    cluster = startServers("restart-");
    record("cluster formation after restarting everything (PostgreSQL too)", cluster.formedMillis + " ms");
    JsonObject tailnet = get(cluster, cluster.reg1, "/v1/tailnets").getJsonArray("tailnets").getJsonObject(0);
    assertThat(tailnet.getString("name")).isEqualTo("demo");
    assertThat(tailnet.getBoolean("funnel")).isTrue();
    assertThat(get(cluster, cluster.reg2, "/v1/keys").getJsonArray("keys").size()).isEqualTo(keysBefore);
    JsonArray nodes = get(cluster, cluster.reg2, "/v1/nodes").getJsonArray("nodes");
    assertThat(nodes.stream().map(n -> ((JsonObject) n).getString("name")).toList()).containsExactlyInAnyOrder("a", "b");

    // The nodes come back with the identities they enrolled (their node keys), and are reachable again.
    nodeA = startNode("a", "443=http://127.0.0.1:" + backendA.getAddress().getPort(), cluster, "restart-");
    nodeB = startNode("b", "443=tcp://127.0.0.1:" + backendB.port(), cluster, "restart-");
    untilResolvableEverywhere(nodeA, NAME_A, "hello from node a");
    untilResolvableEverywhere(nodeB, NAME_B, "hello from node b");
    JsonArray after = get(cluster, cluster.reg1, "/v1/nodes").getJsonArray("nodes");
    assertThat(after.stream().map(n -> ((JsonObject) n).getString("id")).toList())
        .containsExactlyInAnyOrderElementsOf(nodes.stream().map(n -> ((JsonObject) n).getString("id")).toList());
  }

  /**
   * A gateway's clean stop (SIGTERM, a rolling restart): node a's sessions there ends with a Bye
   * that lets its tunnels go on, so a download in flight through it completes byte for byte while
   * every new connection goes to the node's other session, and the node logs in to the third
   * gateway; the gateway exits once the download is done.
   */
  @Test
  @Order(6)
  @Timeout(value = 150, unit = TimeUnit.SECONDS)
  void stoppingAGatewayLetsItsTunnelsFinishWhileNewOnesGoElsewhere() throws Exception {
    untilTwoSessions("a", cluster, null);
    String servingA = sessionsOf(cluster, cluster.reg2, "a").get(0);
    FunnelProcess victim = cluster.gatewayWithId(servingA);
    Path got = dir.resolve("big.bin");
    Process curl = new ProcessBuilder("curl", "-sS", "--fail", "--limit-rate", "8M", "--max-time", "90",
        "--cacert", state.resolve(DevCa.CA_FILE).toString(),
        "--connect-to", NAME_A + ":443:127.0.0.1:" + cluster.frontendPort(0), "-o", got.toString(),
        "https://" + NAME_A + "/big").redirectErrorStream(true).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(got) || Files.size(got) < 2 * 1024 * 1024) {
      assertThat(curl.isAlive()).as("curl still downloading").isTrue();
      assertThat(System.nanoTime()).as("the download started").isLessThan(deadline);
      Thread.sleep(20);
    }

    long stoppedAt = System.currentTimeMillis();
    assertThat(victim.terminate(Duration.ZERO)).as("SIGTERM sent; the gateway drains").isEmpty();
    logTime(victim, Pattern.quote("1 open tunnel(s) get up to 60 s to end"));
    List<Attempt> meanwhile = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      meanwhile.add(attempt(cluster.frontendPort(i % 2), NAME_A, "hello from node a"));
      Thread.sleep(50);
    }
    List<Attempt> failed = meanwhile.stream().filter(a -> !a.ok()).toList();
    assertThat(failed).as("new connections while the gateway drains: " + describe(failed)).isEmpty();

    assertThat(curl.waitFor(90, TimeUnit.SECONDS)).as("curl finished").isTrue();
    String curlOutput = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(curl.exitValue()).as("curl: " + curlOutput).isZero();
    assertThat(Files.readAllBytes(got)).as("the whole download, byte for byte").isEqualTo(BIG);
    assertThat(victim.exitWithin(Duration.ofSeconds(30))).as("exited after the drain, with no second signal")
        .hasValue(143);
    long exitedAt = System.currentTimeMillis();
    assertThat(victim.output()).contains("drained: the open tunnel(s) ended within");
    assertThat(nodeA.output()).contains("the gateway said bye: gateway stopping")
        .contains("the gateway is stopping: the tunnels on the");
    untilTwoSessions("a", cluster, servingA);
    record("gateway drain: SIGTERM → exit, a 32 MiB download at 8 MB/s in flight", (exitedAt - stoppedAt)
        + " ms; new connections meanwhile " + meanwhile.size() + ", failed " + failed.size());
    processes.remove(victim);
    cluster.gateways.remove(victim);
  }

  // ------------------------------------------------------------------------------------------ helpers

  /** Two registries, three gateways, two frontends; the first registry forms the cluster, the rest join it at once. */
  private Cluster startServers(String prefix) throws Exception {
    Cluster c = new Cluster();
    for (int i = 0; i < 7; i++) {
      c.clusterPorts.add(Ports.free());
    }
    long spawned = System.nanoTime();
    List<String> first = c.clusterArgs("registry", 0);
    first.addAll(List.of("--domain", DOMAIN, "--admin-listen", "127.0.0.1:0", "--store", postgres.url()));
    c.reg1 = track(FunnelProcess.spawn(prefix + "registry-1", logs, JVM, first.toArray(String[]::new)));
    c.reg1.awaitReady(Duration.ofSeconds(90));
    List<FunnelProcess> rest = new ArrayList<>();
    List<String> second = c.clusterArgs("registry", 1);
    second.addAll(List.of("--domain", DOMAIN, "--admin-listen", "127.0.0.1:0", "--store", postgres.url()));
    c.reg2 = track(FunnelProcess.spawn(prefix + "registry-2", logs, JVM, second.toArray(String[]::new)));
    rest.add(c.reg2);
    for (int g = 0; g < 3; g++) {
      List<String> args = c.clusterArgs("gateway", 2 + g);
      args.addAll(List.of("--gateway-listen", "127.0.0.1:0", "--drain-timeout-s", "60"));
      FunnelProcess gateway = track(FunnelProcess.spawn(prefix + "gateway-" + (g + 1), logs, JVM, args.toArray(String[]::new)));
      c.gateways.add(gateway);
      rest.add(gateway);
    }
    for (int f = 0; f < 2; f++) {
      List<String> args = c.clusterArgs("frontend", 5 + f);
      args.addAll(List.of("--domain", DOMAIN, "--public", "443=127.0.0.1:0"));
      FunnelProcess frontend = track(FunnelProcess.spawn(prefix + "frontend-" + (f + 1), logs, JVM, args.toArray(String[]::new)));
      c.frontends.add(frontend);
      rest.add(frontend);
    }
    for (FunnelProcess p : rest) {
      p.awaitReady(Duration.ofSeconds(120));
    }
    logTime(c.reg1, "; 7 members$");   // the first member has seen all seven join
    c.formedMillis = (System.nanoTime() - spawned) / 1_000_000;
    List<Integer> joins = new ArrayList<>();
    for (FunnelProcess p : rest) {
      joins.add(Integer.parseInt(p.fromReadyLine("joined in (\\d+) ms")));
    }
    c.joinMillis = "first member " + c.reg1.fromReadyLine("joined in (\\d+) ms") + " ms, the six others "
        + Collections.min(joins) + "–" + Collections.max(joins) + " ms (started together)";
    for (FunnelProcess g : c.gateways) {
      c.gatewayIds.put(g, g.fromReadyLine("id (gw-[0-9a-f]+)"));
    }
    return c;
  }

  private FunnelProcess startNode(String name, String funnel, Cluster c, String prefix) throws Exception {
    FunnelProcess node = track(FunnelProcess.spawn(prefix + "node-" + name, logs, JVM, "node",
        "--server", c.gatewayAddresses(), "--sessions", "2", "--authkey", authKey, "--hostname", name,
        "--ca", state.resolve(DevCa.CA_FILE).toString(), "--state", dir.resolve("node-" + name).toString(),
        "--funnel", funnel));
    node.awaitReady(Duration.ofSeconds(90));
    return node;
  }

  private FunnelProcess track(FunnelProcess p) {
    processes.add(p);
    return p;
  }

  /**
   * Polls both frontends until the node answers through each; returns the milliseconds from the
   * node's "session up" log line to the last frontend's first success.
   */
  private long untilResolvableEverywhere(FunnelProcess node, String name, String expected) throws Exception {
    long up = logTime(node, "session up as " + Pattern.quote(name));
    long deadline = System.currentTimeMillis() + 60_000;
    long last = up;
    for (int f = 0; f < cluster.frontends.size(); f++) {
      if (!cluster.frontends.get(f).isAlive()) {
        continue;
      }
      int port = cluster.frontendPort(f);
      while (true) {
        Attempt a = attempt(port, name, expected);
        if (a.ok()) {
          last = Math.max(last, a.endMillis());
          break;
        }
        assertThat(System.currentTimeMillis()).as("%s resolvable via frontend %d: %s", name, f + 1, a.detail())
            .isLessThan(deadline);
        Thread.sleep(10);
      }
    }
    return last - up;
  }

  /** Waits until the registry lists two live sessions for the node, none on {@code without}; returns when. */
  private long untilTwoSessions(String node, Cluster c, String without) throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      List<String> gateways = sessionsOf(c, c.reg2, node);
      if (gateways.size() == 2 && (without == null || !gateways.contains(without))) {
        return System.currentTimeMillis();
      }
      assertThat(System.currentTimeMillis()).as("node %s on two gateways (now %s)", node, gateways).isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  /** The gateways holding the node's live sessions, newest first, as a registry sees them. */
  private List<String> sessionsOf(Cluster c, FunnelProcess registry, String node) throws Exception {
    for (Object o : get(c, registry, "/v1/nodes").getJsonArray("nodes")) {
      JsonObject n = (JsonObject) o;
      if (n.getString("name").equals(node)) {
        return n.getJsonArray("gateways").stream().map(String::valueOf).toList();
      }
    }
    return List.of();
  }

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private JsonObject get(Cluster c, FunnelProcess registry, String path) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(c.adminUrl(registry) + path))
        .timeout(Duration.ofSeconds(10))
        .header("Authorization", "Bearer " + Files.readString(state.resolve("admin-token")).trim()).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return new JsonObject(response.body());
  }

  private void patch(Cluster c, FunnelProcess registry, String path, JsonObject body) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(c.adminUrl(registry) + path))
        .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + Files.readString(state.resolve("admin-token")).trim())
        .method("PATCH", HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
  }

  private FunnelProcess.Result admin(Cluster c, FunnelProcess registry, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("admin", "--url", c.adminUrl(registry), "--token",
        Files.readString(state.resolve("admin-token")).trim()));
    all.addAll(List.of(args));
    FunnelProcess.Result result = FunnelProcess.run(logs, all.toArray(String[]::new));
    assertThat(result.exit()).as(result.all()).isZero();
    return result;
  }

  /** One new TLS connection through a frontend: handshake with the node, one HTTP/1.1 request, the whole answer. */
  record Attempt(long startMillis, long endMillis, boolean ok, String detail) {
  }

  private Attempt attempt(int frontendPort, String name, String expected) {
    long start = System.currentTimeMillis();
    try (Socket tcp = new Socket()) {
      tcp.connect(new InetSocketAddress("127.0.0.1", frontendPort), 5_000);
      // Layered with the node's name as the peer: the JDK keys resumable sessions by peer, and
      // resumes with the cached session's SNI, so one shared peer would send node a's name for b.
      SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(tcp, name, 443, true);
      socket.setSoTimeout(30_000);
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(name)));
      params.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(params);
      socket.startHandshake();
      socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + name + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      boolean ok = answer.startsWith("HTTP/1.1 200") && answer.contains(expected);
      return new Attempt(start, System.currentTimeMillis(), ok, ok ? "ok" : "answer: " + answer.lines().findFirst().orElse(""));
    } catch (IOException e) {
      return new Attempt(start, System.currentTimeMillis(), false, e.toString());
    }
  }

  private static String describe(List<Attempt> failed) {
    if (failed.isEmpty()) {
      return "";
    }
    return failed.stream().limit(3).map(a -> a.detail() + " after " + (a.endMillis() - a.startMillis()) + " ms")
        .collect(Collectors.joining("; ", "(", failed.size() > 3 ? "; …)" : ")"));
  }

  /** When the node logged that its session with {@code gateway} ended (its own clock, milliseconds). */
  private long detectedAt(FunnelProcess node, String gateway) throws Exception {
    return logTime(node, "session with " + Pattern.quote(gateway) + " ended");
  }

  /** The time of the first log line of {@code process} matching {@code pattern}, waiting up to 30 s for it. */
  private static long logTime(FunnelProcess process, String pattern) throws Exception {
    return logTimeAfter(process, pattern, Long.MIN_VALUE);
  }

  /** As {@link #logTime}, for the first such line logged at or after {@code afterMillis}. */
  private static long logTimeAfter(FunnelProcess process, String pattern, long afterMillis) throws Exception {
    Pattern p = Pattern.compile(pattern);
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      for (String line : process.output().split("\n")) {
        Matcher time = LOG_TIME.matcher(line);
        if (time.find() && p.matcher(line).find()) {
          long at = LocalDateTime.parse(time.group(1)).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
          if (at >= afterMillis) {
            return at;
          }
        }
      }
      Thread.sleep(20);
    }
    throw new IllegalStateException("no log line matching '" + pattern + "' in:\n" + process.output());
  }

  private void record(String what, String value) {
    figures.put(what, value);
    System.out.println("[cluster] " + what + ": " + value);
  }

  private static void sleepUntil(long epochMillis) throws InterruptedException {
    long wait = epochMillis - System.currentTimeMillis();
    if (wait > 0) {
      Thread.sleep(wait);
    }
  }

  /** A node's own TLS server holding the node's key: answers every request with one fixed HTTP response. */
  static final class TinyTlsServer implements AutoCloseable {
    private final SSLServerSocket server;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    TinyTlsServer(SSLContext context, String body) throws IOException {
      server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 64,
          java.net.InetAddress.getLoopbackAddress());
      byte[] response = ("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body)
          .getBytes(StandardCharsets.US_ASCII);
      pool.execute(() -> {
        while (!server.isClosed()) {
          try {
            Socket socket = server.accept();
            pool.execute(() -> answer(socket, response));
          } catch (IOException e) {
            return;
          }
        }
      });
    }

    private static void answer(Socket socket, byte[] response) {
      try (socket) {
        socket.setSoTimeout(30_000);
        InputStream in = socket.getInputStream();
        int matched = 0;
        byte[] end = {'\r', '\n', '\r', '\n'};
        while (matched < 4) {
          int b = in.read();
          if (b < 0) {
            return;
          }
          matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        socket.getOutputStream().write(response);
        socket.getOutputStream().flush();
      } catch (IOException e) {
        // the client went away
      }
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      server.close();
      pool.shutdownNow();
    }
  }
}
