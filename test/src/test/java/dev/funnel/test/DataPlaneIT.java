package dev.funnel.test;

import static dev.funnel.test.HostileIT.fdCount;
import static dev.funnel.test.HostileIT.metric;
import static dev.funnel.test.HostileIT.rssKiB;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
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
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The data plane at scale through real processes: one {@code funnel server}, one {@code funnel
 * node} ({@code --links} at its default, 2) whose local target is a {@link NeverReadingSink} (it
 * accepts and never reads, in a process of its own), and raw TCP clients that send a real
 * ClientHello (the frontend never terminates TLS; the node passes the bytes to the sink). The
 * admission limits are raised as an operator would for a load test from one address. Both JVMs run
 * with {@code ./funnel}'s memory settings and a 256 MiB heap, so a full GC gives memory back and
 * RSS means what the process holds.
 *
 * <p>Figures are printed as {@code data plane: …} lines and kept in
 * {@code target/e2e-logs/dataplane/figures.txt}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@Isolated("10,000 tunnels and bounds on memory")
class DataPlaneIT {

  static final String DOMAIN = "funnel.localhost";
  static final String WEB = "web.demo." + DOMAIN;
  static final int KIB = 1024;
  static final int MIB = 1024 * KIB;
  /** What each client sends after its ClientHello: zeros, read through a view per client. */
  static final ByteBuffer ZEROS = ByteBuffer.allocate(MIB);
  /** The node's link connections per gateway (its default {@code --links}). */
  static final int LINKS = 2;
  /** {@code ./funnel}'s memory settings (collector, heap ratios, native heap trimming) and a 256 MiB heap. */
  static final List<String> JVM = List.of("-Xmx256m", "-Xms8m", "-XX:+UseSerialGC", "-XX:MinHeapFreeRatio=10",
      "-XX:MaxHeapFreeRatio=20", "-XX:TrimNativeHeapInterval=5000");
  static final String[] LOAD_TEST_LIMITS = {"--max-connections", "100000", "--max-connections-per-source", "100000",
      "--source-rate", "100000", "--source-burst", "100000", "--max-tunnels-per-node", "100000"};

  private Path dir;
  private Path logs;
  private FunnelProcess server;
  private FunnelProcess node;
  private Process sink;
  private int sinkPort;
  private BufferedReader sinkIn;
  private int public443;
  private int gatewayPort;
  private int serverMetrics;
  private int nodeMetrics;
  private byte[] hello;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    dir = TempDirs.create("funnel-dataplane");
    Path state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "dataplane");
    Files.createDirectories(logs);
    Files.deleteIfExists(logs.resolve("figures.txt"));
    sink = NeverReadingSink.start();
    BufferedReader sinkOut = new BufferedReader(new InputStreamReader(sink.getInputStream(), StandardCharsets.UTF_8));
    Matcher port = Pattern.compile("sink port (\\d+) ready").matcher(String.valueOf(sinkOut.readLine()));
    assertThat(port.find()).as("the sink's first line").isTrue();
    sinkPort = Integer.parseInt(port.group(1));
    sinkIn = sinkOut;

    List<String> serverArgs = new ArrayList<>(List.of("server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--metrics-listen", "127.0.0.1:0"));
    serverArgs.addAll(List.of(LOAD_TEST_LIMITS));
    server = FunnelProcess.start("server", logs, JVM, serverArgs.toArray(String[]::new));
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    serverMetrics = Integer.parseInt(server.fromReadyLine("metrics http://127\\.0\\.0\\.1:(\\d+)"));
    FunnelProcess.admin(logs, state, "tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String key = FunnelProcess.admin(logs, state, "key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    node = FunnelProcess.start("node", logs, JVM, "node", "--server", "127.0.0.1:" + gatewayPort, "--authkey", key,
        "--hostname", "web", "--ca", state.resolve("ca.pem").toString(), "--state", dir.resolve("node").toString(),
        "--metrics-listen", "127.0.0.1:0", "--funnel", "443=tcp://127.0.0.1:" + sinkPort);
    nodeMetrics = node.opsPort();
    hello = TestTls.clientHello(WEB);
    awaitLinks();
  }

  /** The sink lets go of the connections of the test before (their tunnels are gone already). */
  @org.junit.jupiter.api.AfterEach
  void sinkForgets() throws IOException {
    sink.getOutputStream().write("close\n".getBytes(StandardCharsets.US_ASCII));
    sink.getOutputStream().flush();
    assertThat(sinkIn.readLine()).isEqualTo("closed");
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server}) {
      if (c != null) {
        c.close();
      }
    }
    if (sink != null) {
      sink.destroyForcibly();
      sink.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /**
   * 10,000 tunnels held open at once ride the node's two link connections: the node dialled no
   * connection per tunnel (the kernel's own table shows it: one control and two link connections
   * to the gateway's port), the gateway counts two, and what the server and the node hold per idle
   * tunnel (RSS after a full GC) stays under a bound. Clients that reset release every tunnel.
   */
  @Test
  @Order(1)
  void tenThousandIdleTunnelsRideTheNodesTwoLinkConnections() throws Exception {
    // Each tunnel is a descriptor in this JVM, the server, the node and the sink: 10,000 unless
    // this machine's open-file limit is lower (this kind's hard limit is 20,000; Java raises to it).
    long maxFds = ((com.sun.management.UnixOperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getMaxFileDescriptorCount();
    int tunnels = (int) Math.min(10_000, maxFds - 1_000);
    long serverBefore = rssAfterGcKiB(server.pid());
    long nodeBefore = rssAfterGcKiB(node.pid());
    int serverFds = fdCount(server.pid());
    int nodeFds = fdCount(node.pid());
    List<SocketChannel> clients = new ArrayList<>(tunnels);
    try {
      long started = System.nanoTime();
      for (int i = 0; i < tunnels; i++) {
        SocketChannel client = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), public443));
        clients.add(client);
        client.write(ByteBuffer.wrap(hello));
      }
      awaitGauges(tunnels, Duration.ofSeconds(120));
      long openedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertThat(linksToGateway()).as("the node's connections to the gateway port: control + links")
          .isEqualTo(1 + LINKS);
      assertThat(metric(scrape(serverMetrics), "funnel_gateway_link_connections")).isEqualTo(LINKS);
      assertThat(metric(scrape(nodeMetrics), "funnel_node_link_connections")).isEqualTo(LINKS);
      long serverHeld = rssAfterGcKiB(server.pid()) - serverBefore;
      long nodeHeld = rssAfterGcKiB(node.pid()) - nodeBefore;
      double perTunnel = (serverHeld + nodeHeld) / (double) tunnels;
      figure(String.format("idle tunnels: %d open in %d ms on %d link connections; RSS after GC held per tunnel:"
              + " server %.2f KiB, node %.2f KiB, both %.2f KiB", tunnels, openedMillis, LINKS,
          serverHeld / (double) tunnels, nodeHeld / (double) tunnels, perTunnel));
      // Data plane v2 measured ~8 KiB (bench/README.md); a tunnel per TLS connection cost 48.
      assertThat(perTunnel).as("KiB of RSS per idle tunnel, server and node").isLessThan(16);
    } finally {
      resetAll(clients);
    }
    long released = awaitGauges(0, Duration.ofSeconds(60));
    figure("idle tunnels: every tunnel released " + released + " ms after the clients reset");
    awaitFds(serverFds, nodeFds);
  }

  /**
   * 1,000 clients each send a ClientHello and 1 MiB to a target that never reads. Nothing may pile
   * up in Funnel's processes: the server reads a client only while its stream may take more (the
   * stream's send buffer, 64 KiB, within the link's windows) and the node holds at most the links'
   * connection windows (2 × 64 MiB); what is not yet read waits in the kernel's socket buffers
   * (on this machine they take most of it: up to 32 MiB per socket with autotuning). The bound
   * asserted: server growth under 192 MiB (1,000 × 128 KiB and the links' queues), node growth
   * under 224 MiB (its windows and its sockets' queues); both within 48 MiB of where they started
   * once the clients have gone, a GC ran and the C heap was trimmed (without the trim, glibc kept
   * up to 64 MiB of freed memory in one run).
   */
  @Test
  @Order(2)
  void aThousandClientsWritingToAnAppThatNeverReadsCostBoundedMemory() throws Exception {
    int clients = 1_000;
    int perClient = MIB;
    long serverBefore = rssAfterGcKiB(server.pid());
    long nodeBefore = rssAfterGcKiB(node.pid());
    long[] peaks = {serverBefore, nodeBefore};
    List<SocketChannel> open = new ArrayList<>(clients);
    long written;
    try (Selector selector = Selector.open()) {
      for (int i = 0; i < clients; i++) {
        SocketChannel client = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), public443));
        open.add(client);
        client.configureBlocking(false);
        client.register(selector, SelectionKey.OP_WRITE, helloThen(perClient));
      }
      written = writeUntilStalled(selector, peaks, Duration.ofSeconds(60));
      awaitGauges(clients, Duration.ofSeconds(60));
    } finally {
      resetAll(open);
    }
    long serverGrowth = peaks[0] - serverBefore;
    long nodeGrowth = peaks[1] - nodeBefore;
    awaitGauges(0, Duration.ofSeconds(60));
    long serverAfter = rssAfterGcKiB(server.pid());
    long nodeAfter = rssAfterGcKiB(node.pid());
    figure("never-reading app: " + clients + " clients wrote " + written / MIB + " MiB of "
        + (long) clients * perClient / MIB + " (the kernel's socket buffers hold what the app has not read);"
        + " RSS growth at peak: server " + serverGrowth / KIB + " MiB, node " + nodeGrowth / KIB
        + " MiB; after the clients left and a GC: server " + (serverAfter - serverBefore) / KIB + " MiB, node "
        + (nodeAfter - nodeBefore) / KIB + " MiB above where they started");
    assertThat(serverGrowth).as("server (frontend + gateway) RSS growth, KiB").isLessThan(192L * KIB);
    assertThat(nodeGrowth).as("node RSS growth, KiB").isLessThan(224L * KIB);
    assertThat(serverAfter - serverBefore).as("server RSS after the clients left, KiB, above before")
        .isLessThan(48L * KIB);
    assertThat(nodeAfter - nodeBefore).as("node RSS after the clients left, KiB, above before").isLessThan(48L * KIB);
  }

  /**
   * 400 clients send a ClientHello and 256 KiB to the app that never reads, then reset their
   * connections: every tunnel's sockets and streams are released within seconds on the server and
   * on the node, although the node's socket to the app still has bytes it could not write.
   */
  @Test
  @Order(3)
  void clientsThatResetReleaseEveryTunnelsResourcesAlthoughTheAppNeverReads() throws Exception {
    int clients = 400;
    int serverFds = fdCount(server.pid());
    int nodeFds = fdCount(node.pid());
    List<SocketChannel> open = new ArrayList<>(clients);
    try (Selector selector = Selector.open()) {
      for (int i = 0; i < clients; i++) {
        SocketChannel client = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), public443));
        open.add(client);
        client.configureBlocking(false);
        client.register(selector, SelectionKey.OP_WRITE, helloThen(256 * KIB));
      }
      writeUntilStalled(selector, new long[] {0, 0}, Duration.ofSeconds(30));
      awaitGauges(clients, Duration.ofSeconds(60));
      assertThat(fdCount(server.pid())).as("server descriptors while the tunnels are open")
          .isGreaterThanOrEqualTo(serverFds + clients);
    } finally {
      resetAll(open);
    }
    long released = awaitGauges(0, Duration.ofSeconds(30));
    long fdsBack = awaitFds(serverFds, nodeFds);
    figure("reset: " + clients + " clients reset; every tunnel released " + released + " ms after, descriptors back "
        + fdsBack + " ms after (server " + serverFds + " → " + fdCount(server.pid()) + ", node " + nodeFds + " → "
        + fdCount(node.pid()) + ")");
    assertThat(released).as("ms until every tunnel was released").isLessThan(10_000);
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Writes each channel's buffers as the frontend takes them until every one is written or nothing
   * moved for 3 s (bounded by {@code max}); samples the server's and node's RSS into
   * {@code peaks} meanwhile. Returns the bytes written.
   */
  private long writeUntilStalled(Selector selector, long[] peaks, Duration max) throws IOException {
    long written = 0;
    long deadline = System.nanoTime() + max.toNanos();
    long lastProgress = System.nanoTime();
    long lastSample = 0;
    while (!selector.keys().isEmpty() && System.nanoTime() < deadline
        && System.nanoTime() - lastProgress < TimeUnit.SECONDS.toNanos(3)) {
      selector.select(100);
      for (SelectionKey key : selector.selectedKeys()) {
        ByteBuffer[] bytes = (ByteBuffer[]) key.attachment();
        long n = ((SocketChannel) key.channel()).write(bytes);
        if (n > 0) {
          written += n;
          lastProgress = System.nanoTime();
        }
        if (!bytes[bytes.length - 1].hasRemaining()) {
          key.cancel();
        }
      }
      selector.selectedKeys().clear();
      if (System.nanoTime() - lastSample > TimeUnit.MILLISECONDS.toNanos(200) && peaks[0] > 0) {
        lastSample = System.nanoTime();
        peaks[0] = Math.max(peaks[0], rssKiB(server.pid()));
        peaks[1] = Math.max(peaks[1], rssKiB(node.pid()));
      }
    }
    return written;
  }

  /** A client's bytes to send: the ClientHello, then {@code bytes} zeros (views of one shared buffer). */
  private ByteBuffer[] helloThen(int bytes) {
    return new ByteBuffer[] {ByteBuffer.wrap(hello), ZEROS.asReadOnlyBuffer().limit(bytes)};
  }

  /**
   * Resets every client (SO_LINGER 0, then close: an RST). A FIN would be a half-close the tunnel
   * carries to the app, which here answers nothing and never closes: such a tunnel stays open until
   * the idle timeout, as a half-closed connection should.
   */
  private static void resetAll(List<SocketChannel> clients) {
    for (SocketChannel client : clients) {
      try {
        client.setOption(StandardSocketOptions.SO_LINGER, 0);
        client.close();
      } catch (IOException e) {
        // closed already
      }
    }
    clients.clear();
  }

  /**
   * Waits until the frontend, the gateway and the node each count {@code tunnels} active tunnels
   * (bounded by {@code max}); returns how long it took, in ms.
   */
  private long awaitGauges(int tunnels, Duration max) throws Exception {
    long started = System.nanoTime();
    long deadline = started + max.toNanos();
    String seen = "";
    while (System.nanoTime() < deadline) {
      String serverScrape = scrape(serverMetrics);
      double frontend = metric(serverScrape, "funnel_tunnels_active", "role", "frontend");
      double gateway = metric(serverScrape, "funnel_tunnels_active", "role", "gateway");
      double onNode = metric(scrape(nodeMetrics), "funnel_tunnels_active", "role", "node");
      if (frontend == tunnels && gateway == tunnels && onNode == tunnels) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      }
      seen = "frontend " + frontend + ", gateway " + gateway + ", node " + onNode;
      Thread.sleep(100);
    }
    throw new AssertionError("tunnels active never came to " + tunnels + " each within " + max + ": " + seen);
  }

  /** Waits (up to 30 s) until the server's and node's open descriptors are back to the counts given (±16). */
  private long awaitFds(int serverFds, int nodeFds) throws Exception {
    long started = System.nanoTime();
    long deadline = started + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      int serverNow = fdCount(server.pid());
      int nodeNow = fdCount(node.pid());
      if (serverNow <= serverFds + 16 && nodeNow <= nodeFds + 16) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("open descriptors not back within 30 s: server " + serverFds + " → " + serverNow
            + ", node " + nodeFds + " → " + nodeNow);
      }
      Thread.sleep(100);
    }
  }

  /** The node's two link connections (and its control connection) are up, as both sides count them. */
  private void awaitLinks() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (metric(scrape(serverMetrics), "funnel_gateway_link_connections") != LINKS
        || metric(scrape(nodeMetrics), "funnel_node_link_connections") != LINKS) {
      assertThat(System.nanoTime()).as("links up within 30 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  /**
   * Established TCP connections to the gateway's port, from the kernel's tables ({@code
   * /proc/net/tcp} and {@code tcp6}: this network namespace; only the node dials that port).
   */
  private int linksToGateway() throws IOException {
    String port = String.format(":%04X", gatewayPort);
    int count = 0;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {   // Java's sockets are often IPv6 ones
      for (String line : Files.readAllLines(Path.of(table))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 3 && f[2].endsWith(port) && f[3].equals("01")) {
          count++;
        }
      }
    }
    return count;
  }

  private String scrape(int port) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  /**
   * RSS in KiB after a full GC ({@code jcmd GC.run}; the heap shrinks with the ratios of {@link #JVM})
   * and a trim of the C heap ({@code System.trim_native_heap}: freed malloc memory the C library
   * kept), as the bench reads it: what the process holds, not what its allocators cache.
   */
  private static long rssAfterGcKiB(long pid) throws Exception {
    HostileIT.heapAfterGcKiB(pid);
    String jcmd = Path.of(FunnelProcess.JAVA).resolveSibling("jcmd").toString();
    Exec.run(List.of(jcmd, Long.toString(pid), "System.trim_native_heap"));
    Thread.sleep(200);
    return rssKiB(pid);
  }

  private void figure(String line) throws IOException {
    System.out.println("data plane: " + line);
    Files.writeString(logs.resolve("figures.txt"), line + "\n", StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
  }
}
