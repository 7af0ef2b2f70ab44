package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A clean stop (SIGTERM) of a process that carries tunnels, as a deploy or a restart does it: new
 * connections are refused at once, the connections open get {@code --drain-timeout-s} to end, then
 * the process exits; a second SIGTERM stops it at once. A server (its frontend) and a node here; a
 * clustered gateway in ClusterIT. Real processes, real clients (curl, a TLS socket).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DrainIT {

  private static final String DOMAIN = "funnel.localhost";
  private static final String NAME = "web.demo." + DOMAIN;
  /** More than every buffer between the node and curl holds (link windows, socket buffers): the node must wait for it. */
  private static final int FILE_BYTES = 32 * 1024 * 1024;

  private final Path logs = Path.of("target", "e2e-logs", "drain");
  private FunnelProcess server;
  private FunnelProcess node;

  @AfterEach
  void stop() throws Exception {
    for (FunnelProcess p : new FunnelProcess[] {node, server}) {
      if (p != null) {
        p.kill();
      }
    }
  }

  /**
   * curl is downloading a file at 2 MB/s from a node's {@code file://} target when the server gets
   * SIGTERM: a new connection is refused, the download completes byte for byte, and the server
   * exits once it has.
   */
  @Test
  void aDownloadInFlightFinishesWhileNewConnectionsAreRefused() throws Exception {
    ServerAndNode setup = startServerAndNode(List.of("--drain-timeout-s", "60"), List.of());
    Process curl = setup.download();

    assertThat(server.terminate(Duration.ZERO)).as("SIGTERM sent; the server drains").isEmpty();
    awaitLine(server, "open connection(s) get up to 60 s to end");
    // NIO closes a listening socket's descriptor at the loop's next select after the close: a
    // connection made in that moment is taken by the kernel, then reset.
    long refusedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Socket late = new Socket(InetAddress.getLoopbackAddress(), setup.publicPort())) {
        assertThat(System.nanoTime()).as("new connections refused during the drain").isLessThan(refusedBy);
        Thread.sleep(20);
      } catch (ConnectException refused) {
        break;
      }
    }

    setup.downloaded(curl);
    assertThat(server.exitWithin(Duration.ofSeconds(30))).as("exited after the drain, with no second signal")
        .hasValue(143);
    assertThat(server.output()).contains("drained: the open connection(s) ended within")
        .doesNotContain("still open after")
        .as("the gateway in the server ends the node's session while its registry still hears of it")
        .containsPattern("session on gateway-1 \\(epoch \\d+\\) closed")
        .doesNotContain("left failed");

    // The node now retries a server that is gone, with backoff: one WARNING for the outage's kind of
    // failure, the retries after it at INFO (a server down for hours must not fill the node's log).
    long retriedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (reconnectLines(node, "").size() < 3 && System.nanoTime() < retriedBy) {
      Thread.sleep(100);
    }
    assertThat(reconnectLines(node, "")).as("three failed reconnects within 30 s").hasSizeGreaterThanOrEqualTo(3);
    assertThat(reconnectLines(node, " WARNING ")).as("one of them a WARNING").hasSize(1);
    assertThat(node.output()).containsPattern("session with 127\\.0\\.0\\.1:\\d+ ended: the gateway said bye");
  }

  /** The node's "cannot reconnect" lines, those at {@code level} (" WARNING ", " INFO ") or all (""). */
  private static List<String> reconnectLines(FunnelProcess node, String level) {
    return node.output().lines().filter(l -> l.contains("cannot reconnect to") && l.contains(level)).toList();
  }

  /**
   * The node's clean stop (a home server's restart): its sessions end, so the server refuses a new
   * connection to its name, while a download in flight through its terminator completes byte for
   * byte; an idle keep-alive connection through the same terminator is ended at once (its HTTP
   * server's shutdown), so the node exits as soon as the download is done.
   */
  @Test
  void aStoppingNodeFinishesItsDownloadAndEndsItsIdleConnections() throws Exception {
    ServerAndNode setup = startServerAndNode(List.of(), List.of("--drain-timeout-s", "60"));
    try (SSLSocket idle = keepAlive(setup.state().resolve("ca.pem"), setup.publicPort(), NAME, "/small.txt",
        "small")) {
      Process curl = setup.download();
      assertThat(node.terminate(Duration.ZERO)).as("SIGTERM sent; the node drains").isEmpty();
      awaitLine(node, "open tunnel(s) get up to 60 s to end");
      assertThat(endOf(idle)).as("the idle keep-alive connection was ended").isTrue();
      setup.downloaded(curl);
      assertThat(node.exitWithin(Duration.ofSeconds(30))).as("exited after the drain").hasValue(143);
      assertThat(node.output()).contains("node web: drained: the open tunnel(s) ended within")
          .doesNotContain("still open after");
      Exec late = Exec.run(List.of("curl", "-sS", "--max-time", "20", "--cacert",
          setup.state().resolve("ca.pem").toString(), "--connect-to", NAME + ":443:127.0.0.1:" + setup.publicPort(),
          "https://" + NAME + "/small.txt"));
      assertThat(late.exit()).as("a new connection once the node is gone: %s", late.output()).isNotZero();
    }
  }

  /** A server and a node serving a directory ({@code file://}) with a 32 MiB file and a small one. */
  private ServerAndNode startServerAndNode(List<String> serverExtra, List<String> nodeExtra) throws Exception {
    Path dir = TempDirs.create("funnel-drain");
    Path state = dir.resolve("state");
    Path site = Files.createDirectories(dir.resolve("site"));
    byte[] content = new byte[FILE_BYTES];
    new Random(7).nextBytes(content);
    Files.write(site.resolve("big.bin"), content);
    Files.writeString(site.resolve("small.txt"), "small\n");
    List<String> serverArgs = new java.util.ArrayList<>(List.of("server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0"));
    serverArgs.addAll(serverExtra);
    server = FunnelProcess.start("server", logs, List.of(), serverArgs.toArray(String[]::new));
    int publicPort = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    int gateway = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    FunnelProcess.admin(logs, state, "tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String authKey = FunnelProcess.admin(logs, state, "key", "add", "--tailnet", "demo").lastLine().trim();
    List<String> nodeArgs = new java.util.ArrayList<>(List.of("node", "--server", "127.0.0.1:" + gateway,
        "--authkey", authKey, "--hostname", "web", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("node-state").toString(), "--funnel", "443=file://" + site));
    nodeArgs.addAll(nodeExtra);
    node = FunnelProcess.start("node", logs, List.of(), nodeArgs.toArray(String[]::new));
    return new ServerAndNode(dir, state, site, publicPort);
  }

  private record ServerAndNode(Path dir, Path state, Path site, int publicPort) {

    /** curl downloading big.bin at 8 MB/s, once the first 2 MiB have arrived. */
    Process download() throws Exception {
      return download("8M", "got.bin");
    }

    /** curl downloading big.bin at {@code rate} (curl's --limit-rate) into {@code file}, once its first 2 MiB have arrived. */
    Process download(String rate, String file) throws Exception {
      Path got = dir.resolve(file);
      Process curl = new ProcessBuilder("curl", "-sS", "--fail", "--http1.1", "--limit-rate", rate, "--max-time", "90",
          "--cacert", state.resolve("ca.pem").toString(), "--connect-to", NAME + ":443:127.0.0.1:" + publicPort,
          "-o", got.toString(), "https://" + NAME + "/big.bin").redirectErrorStream(true).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Files.exists(got) || Files.size(got) < 2 * 1024 * 1024) {
        assertThat(curl.isAlive()).as("curl still downloading").isTrue();
        assertThat(System.nanoTime()).as("the download started").isLessThan(deadline);
        Thread.sleep(20);
      }
      return curl;
    }

    /** curl ended well and the file arrived whole. */
    void downloaded(Process curl) throws Exception {
      downloaded(curl, "got.bin");
    }

    /** curl ended well and {@code file} is big.bin whole. */
    void downloaded(Process curl, String file) throws Exception {
      assertThat(curl.waitFor(90, TimeUnit.SECONDS)).as("curl finished").isTrue();
      String curlOutput = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(curl.exitValue()).as("curl: " + curlOutput).isZero();
      assertThat(Files.mismatch(dir.resolve(file), site.resolve("big.bin"))).as("the whole file, byte for byte")
          .isEqualTo(-1L);
    }
  }

  /**
   * The server's drain time is what a stop takes, and when it is up its connections really close:
   * of two downloads running at the SIGTERM, the fast one ends within the drain time and arrives
   * byte for byte; the slow one, still running when the time is up, is closed then (well before
   * twice the drain time), gets its access line (bytes_out: what its socket took, at least what
   * curl wrote, not the whole file), and the server exits. Until 2026-12-08 the frontend only said
   * "closed now": the slow download went on through the gateway's own drain, as long again, and was
   * cut by the exit without an access line (a download ending in that second half lost its tail).
   */
  @Test
  void aDownloadStillRunningWhenTheDrainTimeIsUpIsClosedThenWithItsAccessLine() throws Exception {
    long drainSeconds = 8;
    ServerAndNode setup = startServerAndNode(List.of("--drain-timeout-s", "" + drainSeconds), List.of());
    Process slow = setup.download("1M", "slow.bin");     // 32 MiB at 1 MB/s: half a minute
    Process fast = setup.download("8M", "fast.bin");     // about 4 s: ends inside the drain time
    long termAt = System.nanoTime();
    assertThat(server.terminate(Duration.ZERO)).as("SIGTERM sent; the server drains").isEmpty();

    setup.downloaded(fast, "fast.bin");
    assertThat(slow.waitFor(90, TimeUnit.SECONDS)).as("the slow download ended").isTrue();
    long slowEndedMillis = (System.nanoTime() - termAt) / 1_000_000;
    String slowOutput = new String(slow.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(slow.exitValue()).as("the slow download was cut: " + slowOutput).isNotZero();
    // The drain time plus a margin, well short of twice the drain time (when the gateway's drain ended it).
    assertThat(slowEndedMillis).as("the slow download closed when the drain time was up, not after a second one")
        .isLessThan((2 * drainSeconds - 2) * 1000);
    assertThat(server.exitWithin(Duration.ofSeconds(30))).as("exited after the drain").hasValue(143);
    long exitedMillis = (System.nanoTime() - termAt) / 1_000_000;
    assertThat(exitedMillis).as("the stop took the drain time, not twice it").isLessThan((2 * drainSeconds - 1) * 1000);

    assertThat(server.output()).contains("1 connection(s) still open after " + drainSeconds
        + " s of draining are closed now");
    List<Long> bytesOut = server.output().lines()
        .filter(l -> l.contains("funnel.access") && l.contains("outcome=routed"))
        .map(l -> java.util.regex.Pattern.compile("bytes_out=(\\d+)").matcher(l))
        .filter(java.util.regex.Matcher::find)
        .map(m -> Long.parseLong(m.group(1)))
        .sorted()
        .toList();
    assertThat(bytesOut).as("an access line for each download:%n%s", server.output()).hasSize(2);
    long slowGot = Files.size(setup.dir().resolve("slow.bin"));
    assertThat(bytesOut.get(0)).as("the slow download's bytes_out: what its socket took")
        .isGreaterThanOrEqualTo(slowGot).isLessThan(FILE_BYTES);
    assertThat(bytesOut.get(1)).as("the fast download's bytes_out: all of it").isGreaterThan(FILE_BYTES);
  }

  /**
   * A browser-like keep-alive connection that never ends on its own: closed when the drain's time
   * is up (the frontend cannot end it between requests inside TLS), then the process exits.
   */
  @Test
  void aKeepAliveConnectionIsClosedWhenTheDrainTimeIsUp() throws Exception {
    FunnelProcess demo = startDemo("--drain-timeout-s", "2");
    try (SSLSocket held = keepAliveThroughTheDemo(demo)) {
      assertThat(demo.terminate(Duration.ofSeconds(30))).as("exited after the drain").hasValue(143);
      assertThat(demo.output()).contains("open connection(s) get up to 2 s to end")
          .contains("connection(s) still open after 2 s of draining are closed now")
          .as("the demo's node and gateway stop before its registry")
          .containsPattern("session on gateway-1 \\(epoch \\d+\\) closed")
          .doesNotContain("left failed");
      assertThat(endOf(held)).as("the held connection was closed").isTrue();
    }
  }

  /** Waiting out a drain is optional: a second SIGTERM (or Ctrl-C) stops the process at once. */
  @Test
  void aSecondSigtermStopsAtOnce() throws Exception {
    FunnelProcess demo = startDemo();
    try (SSLSocket held = keepAliveThroughTheDemo(demo)) {
      assertThat(demo.terminate(Duration.ZERO)).isEmpty();
      awaitLine(demo, "open connection(s) get up to 10 s to end");
      assertThat(demo.terminate(Duration.ofSeconds(30))).as("exited on the second SIGTERM").hasValue(143);
      assertThat(demo.output()).contains("funnel demo: SIGTERM again: stopping now").doesNotContain("of draining");
      assertThat(endOf(held)).as("the held connection was closed").isTrue();
    }
  }

  private FunnelProcess startDemo(String... extra) throws Exception {
    Path state = TempDirs.create("funnel-drain-demo").resolve("state");
    List<String> args = new java.util.ArrayList<>(List.of("demo", "--state", state.toString(),
        "--public", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"));
    args.addAll(List.of(extra));
    server = FunnelProcess.start("demo", logs, List.of(), args.toArray(String[]::new));
    server.awaitReady(Duration.ofSeconds(60));
    return server;
  }

  /** A TLS connection through the demo's tunnel that answered one keep-alive request and stays open. */
  private static SSLSocket keepAliveThroughTheDemo(FunnelProcess demo) throws Exception {
    String curlLine = demo.stdout().stream().map(String::trim).filter(l -> l.startsWith("curl ")).findFirst()
        .orElseThrow(() -> new AssertionError("no curl line in:\n" + demo.output()));
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("--cacert (\\S+) --connect-to (\\S+):443:127\\.0\\.0\\.1:(\\d+) ").matcher(curlLine);
    assertThat(m.find()).as(curlLine).isTrue();
    return keepAlive(Path.of(m.group(1)), Integer.parseInt(m.group(3)), m.group(2), "/",
        "Hello from a private machine, through Funnel!");
  }

  /** A TLS connection to {@code name} that answered one keep-alive GET of {@code path} and stays open. */
  private static SSLSocket keepAlive(Path ca, int port, String name, String path, String expected) throws Exception {
    SSLSocket socket = TestTls.connect(TestTls.clientTrusting(ca), port, name, 30_000);
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + name + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    String head = readHead(socket.getInputStream());
    assertThat(head).startsWith("HTTP/1.1 200");
    java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    assertThat(length.find()).as(head).isTrue();
    byte[] body = socket.getInputStream().readNBytes(Integer.parseInt(length.group(1)));
    assertThat(new String(body, StandardCharsets.UTF_8)).contains(expected);
    return socket;
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed in the response head: " + head);
      }
      head.append((char) b);
    }
    return head.toString();
  }

  private static boolean endOf(SSLSocket socket) {
    try {
      InputStream in = socket.getInputStream();
      byte[] chunk = new byte[4096];
      while (in.read(chunk) >= 0) {
        // what was in flight
      }
      return true;
    } catch (java.net.SocketTimeoutException stillOpen) {
      return false;
    } catch (IOException closed) {
      return true;   // a reset, or TLS's own complaint at a close without close_notify
    }
  }

  private static void awaitLine(FunnelProcess p, String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!p.output().contains(text)) {
      assertThat(System.nanoTime()).as("'%s' in the output of %s:%n%s", text, p.pid(), p.output()).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
