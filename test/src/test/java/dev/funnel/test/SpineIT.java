package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The spine, end to end through real processes: {@code funnel server} and {@code funnel node}, an
 * {@code openssl s_server} and a Java TLS server as the node's local servers, and real clients
 * (curl, {@code openssl s_client}, a JDK TLS client). The node's servers hold the only private key
 * for the node's name, so every completed handshake proves the frontend never terminated TLS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpineIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME = "web.demo." + DOMAIN;
  static final int MIB = 1024 * 1024;

  private Path dir;

  private Path state;
  private Path logs;
  private FunnelProcess server;
  private FunnelProcess node;
  private Process opensslServer;
  private RecordingTlsServer recorder;
  private SSLContext client;
  private byte[] download;
  private int public443;
  private int public8443;
  private int public10000;
  private int gatewayPort;
  private int metricsPort;
  private String authKey;

  @BeforeAll
  void startServerAndNode() throws Exception {
    dir = TempDirs.create("funnel-spine");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "spine");
    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--public", "8443=127.0.0.1:0",
        "--public", "10000=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--metrics-listen", "127.0.0.1:0", "--clienthello-timeout-ms", "1500");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    public8443 = Integer.parseInt(server.fromReadyLine("public 8443 on 127\\.0\\.0\\.1:(\\d+)"));
    public10000 = Integer.parseInt(server.fromReadyLine("public 10000 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    metricsPort = Integer.parseInt(server.fromReadyLine("metrics http://127\\.0\\.0\\.1:(\\d+)"));

    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443,8443,10000");
    authKey = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
    assertThat(authKey).startsWith("fnl-auth-");

    // The node's own certificate: the node's local servers hold its key, nothing else does.
    DevCa.KeyAndChain nodeCert = DevCa.loadOrCreate(state).issue(List.of(NAME), Duration.ofDays(1));
    Path key = Files.writeString(dir.resolve("node-key.pem"), nodeCert.keyPem());
    Path cert = Files.writeString(dir.resolve("node-cert.pem"), nodeCert.chainPem());
    client = TestTls.clientTrusting(caPem());

    Path www = Files.createDirectories(dir.resolve("www"));
    download = new byte[MIB + 4321];
    new Random(7).nextBytes(download);
    Files.write(www.resolve("payload.bin"), download);
    int opensslPort = Ports.free();
    opensslServer = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + opensslPort,
        "-cert", cert.toString(), "-key", key.toString(), "-WWW", "-quiet")
        .directory(www.toFile()).redirectErrorStream(true)
        .redirectOutput(logs.resolve("openssl-s_server.log").toFile()).start();
    awaitListening(opensslPort);

    recorder = new RecordingTlsServer(TestTls.server(nodeCert.keyPem(), nodeCert.chainPem()));

    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "web", "--ca", caPem().toString(),
        "--state", dir.resolve("node-state").toString(),
        "--funnel", "443=tcp://127.0.0.1:" + opensslPort,
        "--funnel", "8443=tcp://127.0.0.1:" + recorder.port());
  }

  @AfterAll
  void stopAll() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server, recorder}) {
      if (c != null) {
        c.close();
      }
    }
    if (opensslServer != null) {
      opensslServer.destroyForcibly();
    }
  }

  @Test
  void curlDownloadsFromTheNodesOwnTlsServer() throws Exception {
    Path out = dir.resolve("curl-out.bin");
    Exec curl = Exec.run(List.of("curl", "-sS", "--fail", "--max-time", "30", "--cacert", caPem().toString(),
        "--connect-to", NAME + ":443:127.0.0.1:" + public443, "-o", out.toString(),
        "-w", "%{ssl_verify_result} %{http_code}", "https://" + NAME + "/payload.bin"));
    assertThat(curl.exit()).as(curl.output()).isZero();
    assertThat(curl.output().trim()).isEqualTo("0 200");
    assertThat(Files.readAllBytes(out)).isEqualTo(download);
  }

  @Test
  void opensslCompletesTlsWithTheNodesCertificate() throws Exception {
    Exec sClient = Exec.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + public443,
        "-servername", NAME, "-CAfile", caPem().toString(), "-verify_return_error", "-verify_hostname", NAME),
        "GET /payload.bin HTTP/1.0\r\n\r\n");
    assertThat(sClient.output()).contains("Verify return code: 0 (ok)").contains("CN = " + NAME);
  }

  @Test
  void bytesArriveExactlyEachWayWithDifferentSizes() throws Exception {
    int up = MIB;
    int down = MIB + MIB / 2 + 11;
    byte[] sent = new byte[up];
    new Random(1).nextBytes(sent);
    recorder.received.clear();
    try (SSLSocket socket = connect(public8443)) {
      CompletableFuture<byte[]> reply = CompletableFuture.supplyAsync(() -> TestTls.readN(socket, down));
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.write('P');
      out.writeLong(up);
      out.writeLong(down);
      out.write(sent);
      out.flush();
      assertThat(reply.get(60, TimeUnit.SECONDS)).isEqualTo(RecordingTlsServer.expectedRandom(down, 2));
    }
    assertThat(recorder.received.poll(30, TimeUnit.SECONDS)).isEqualTo(sent);
  }

  @Test
  void halfCloseStillGetsTheFullReply() throws Exception {
    byte[] request = "a request that ends with a half-close".repeat(1000).getBytes(StandardCharsets.US_ASCII);
    recorder.received.clear();
    try (SSLSocket socket = connect(public8443)) {
      OutputStream out = socket.getOutputStream();
      out.write('H');
      out.write(request);
      out.flush();
      socket.shutdownOutput();
      byte[] reply = socket.getInputStream().readAllBytes();
      byte[] expectedDigest = MessageDigest.getInstance("SHA-256").digest(request);
      assertThat(reply).hasSize(32 + RecordingTlsServer.HALF_CLOSE_TAIL);
      assertThat(Arrays.copyOf(reply, 32)).isEqualTo(expectedDigest);
    }
  }

  @Test
  void tunnelsAreStreamsOnTheLinkConnectionsTheNodeAlreadyOpened() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (nodeLinkConnections() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(nodeLinkConnections()).as("the node's link connections (--links default)").isEqualTo(2);
    double accepted = metric("funnel_gateway_offers_total\\{answer=\"200\"\\}");
    for (int i = 0; i < 3; i++) {
      curlDownloadsFromTheNodesOwnTlsServer();
    }
    assertThat(metric("funnel_gateway_offers_total\\{answer=\"200\"\\}")).isEqualTo(accepted + 3);
    assertThat(nodeLinkConnections()).as("no connection, no handshake per tunnel").isEqualTo(2);
    assertThat(metric("funnel_gateway_link_connections")).isEqualTo(2);
  }

  @Test
  void unknownNameGetsUnrecognizedName() throws Exception {
    assertThat(alertFor(public443, "nobody.demo." + DOMAIN)).isEqualTo(112);
    assertThat(alertFor(public443, "web.other." + DOMAIN)).isEqualTo(112);
    assertThat(alertFor(public443, "example.com")).isEqualTo(112);
    curlDownloadsFromTheNodesOwnTlsServer();
  }

  @Test
  void offlineNodeGetsUnrecognizedName() throws Exception {
    try (FunnelProcess gone = FunnelProcess.start("node-gone", logs, List.of(), "node", "--server",
        "127.0.0.1:" + gatewayPort, "--authkey", authKey, "--hostname", "gone", "--ca", caPem().toString(),
        "--state", dir.resolve("gone-state").toString(), "--funnel", "443=tcp://127.0.0.1:9")) {
      assertThat(alertFor(public443, "gone.demo." + DOMAIN)).as("online but its target is down").isEqualTo(80);
      gone.kill();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int alert;
    do {
      alert = alertFor(public443, "gone.demo." + DOMAIN);
    } while (alert != 112 && System.nanoTime() < deadline);
    assertThat(alert).isEqualTo(112);
  }

  @Test
  void portTheNodeDoesNotFunnelGetsHandshakeFailure() throws Exception {
    assertThat(alertFor(public10000, NAME)).isEqualTo(40);
    curlDownloadsFromTheNodesOwnTlsServer();
  }

  @Test
  void plainHttpIsClosedWithoutAReply() throws Exception {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), public443)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: web\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(socket.getInputStream().readAllBytes()).isEmpty();
    }
    curlDownloadsFromTheNodesOwnTlsServer();
  }

  @Test
  void aSilentClientIsClosedAtTheDeadline() throws Exception {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), public443)) {
      socket.setSoTimeout(10_000);
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    }
    curlDownloadsFromTheNodesOwnTlsServer();
  }

  // ---- helpers ----

  private Path caPem() {
    return state.resolve("ca.pem");
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  private SSLSocket connect(int port) throws IOException {
    return TestTls.connect(client, port, NAME, 60_000);
  }

  /** Sends a real ClientHello for {@code name}; returns the alert description the frontend answers with. */
  private static int alertFor(int port, String name) throws Exception {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(TestTls.clientHello(name));
      InputStream in = socket.getInputStream();
      byte[] alert = in.readNBytes(7);
      assertThat(alert).as("a whole alert record").hasSize(7);
      assertThat(Arrays.copyOf(alert, 6)).isEqualTo(new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02});
      assertThat(in.read()).as("closed after the alert").isEqualTo(-1);
      return alert[6] & 0xff;
    }
  }

  private double metric(String seriesRegex) throws Exception {
    HttpResponse<String> scrape = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    Matcher m = Pattern.compile("(?m)^" + seriesRegex + " ([0-9.eE+-]+)$").matcher(scrape.body());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** Established TCP connections from the node process's side to the gateway port, but the control connection. */
  private int nodeLinkConnections() throws IOException {
    int count = 0;
    // Java sockets are dual-stack, so IPv4 connections may be listed in tcp6 as ::ffff:127.0.0.1.
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      for (String line : Files.readAllLines(Path.of(table))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 3 && f[2].endsWith(String.format(":%04X", gatewayPort)) && f[3].equals("01")) {
          count++;
        }
      }
    }
    return count - 1;
  }

  private static void awaitListening(int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (Socket ignored = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }
}
