package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.VertxOptions;
import io.vertx.core.dns.AddressResolverOptions;
import java.io.ByteArrayInputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The node's tls-terminator, end to end through real processes: {@code funnel server}, then
 * {@code funnel node --funnel 443=http://127.0.0.1:PORT} (heap capped at 256 MiB) in front of a
 * backend this test runs ({@link RecordingHttpBackend}), and real clients (curl over HTTP/1.1 and
 * HTTP/2, {@code openssl s_client}, a Vert.x WebSocket client). The node's certificate is the one
 * the server's dev CA signed over the control channel; the refusal to sign a name the node does not
 * own is GatewayVerticleTest#aRequestForTheNodesOwnNameIsSignedAndOneForAnotherIsRefused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@Isolated("a 1 GiB stream each way")
class TerminatorIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME = "web.demo." + DOMAIN;
  static final long GIB = 1L << 30;
  /** A path and query a proxy could be tempted to normalise: repeated keys, escapes, '+', an empty value. */
  static final String PATH_AND_QUERY = "/app/a%20b/c;v=1?q=1&q=2&sp=a%20b&plus=a+b&slash=%2F&empty=&u=%C3%A9";

  private Path dir;
  private Path state;
  private Path nodeState;
  private Path logs;
  private Vertx vertx;
  private RecordingHttpBackend backend;
  private RecordingHttpBackend doomedBackend;
  private FunnelProcess server;
  private FunnelProcess node;
  private int public443;
  private int public8443;
  private int gatewayPort;
  private X509Certificate ca;

  @BeforeAll
  void startServerNodeAndBackends() throws Exception {
    dir = TempDirs.create("funnel-terminator");
    state = dir.resolve("state");
    nodeState = dir.resolve("node-state");
    logs = Path.of("target", "e2e-logs", "terminator");
    // The WebSocket client needs the node's name to resolve (Vert.x 5.0.10's WebSocketClient ignores
    // WebSocketConnectOptions.setServer): a hosts entry for this Vertx only, pointing at loopback.
    vertx = Vertx.vertx(new VertxOptions().setAddressResolverOptions(new AddressResolverOptions()
        .setHostsValue(Buffer.buffer("127.0.0.1 " + NAME + "\n"))));
    backend = new RecordingHttpBackend(vertx);
    doomedBackend = new RecordingHttpBackend(vertx);

    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--public", "8443=127.0.0.1:0",
        "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    public8443 = Integer.parseInt(server.fromReadyLine("public 8443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    ca = DevCa.Pem.certificates(Files.readString(caPem())).get(0);

    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443,8443");
    String authKey = admin("key", "add", "--tailnet", "demo").lastLine().trim();
    assertThat(authKey).startsWith("fnl-auth-");

    // No --cert/--key: the node makes its key and the server's CA signs its certificate.
    node = FunnelProcess.start("node", logs, List.of("-Xmx256m"), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "web", "--ca", caPem().toString(), "--state", nodeState.toString(),
        "--funnel", "443=http://127.0.0.1:" + backend.port(),
        "--funnel", "8443=http://127.0.0.1:" + doomedBackend.port());
  }

  @AfterAll
  void stopAll() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server, backend, doomedBackend}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          // Already closed (the doomed backend).
        }
      }
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  @ParameterizedTest(name = "curl --http{0} from {1}")
  @CsvSource({"1.1, 127.0.0.1", "2, 127.0.0.1", "1.1, 127.0.0.2", "2, 127.0.0.2"})
  void curlReachesTheBackendWithForwardedHeadersAndTheExactRequest(String version, String source) throws Exception {
    String id = "curl-" + version + "-" + source;
    Exec curl = curl(List.of("--http" + version, "--interface", source, "-H", RecordingHttpBackend.TEST_ID + ": " + id,
        "-w", "\n%{http_code} %{http_version}", "https://" + NAME + PATH_AND_QUERY));
    assertThat(curl.exit()).as(curl.output()).isZero();
    assertThat(curl.output()).isEqualTo("hello\n\n200 " + version);

    RecordingHttpBackend.Seen seen = backend.seen(id);
    assertThat(seen).as("the backend got the request").isNotNull();
    assertThat(seen.method()).isEqualTo("GET");
    assertThat(seen.uri()).isEqualTo(PATH_AND_QUERY);
    MultiMap headers = seen.headers();
    // The client's address as the frontend saw it, carried by PROXY v2 from the node agent to the
    // terminator: curl's source address, not the node's own loopback hop (always 127.0.0.1).
    assertThat(headers.getAll("X-Forwarded-For")).containsExactly(source);
    assertThat(headers.getAll("X-Forwarded-Proto")).containsExactly("https");
    assertThat(headers.getAll("X-Forwarded-Host")).containsExactly(NAME);
    assertThat(headers.getAll("Forwarded")).containsExactly("for=" + source + ";proto=https;host=" + NAME);
    assertThat(headers.getAll("Funnel-Request")).containsExactly("?1");
    assertThat(headers.getAll("Host")).containsExactly(NAME);
  }

  @ParameterizedTest(name = "curl --http{0}")
  @CsvSource({"1.1", "2"})
  void spoofedForwardingHeadersAreStripped(String version) throws Exception {
    String id = "spoof-" + version;
    Exec curl = curl(List.of("--http" + version, "-H", RecordingHttpBackend.TEST_ID + ": " + id,
        "-H", "X-Forwarded-For: 6.6.6.6", "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Host: evil.example",
        "-H", "Forwarded: for=6.6.6.6;host=evil.example", "-H", "Funnel-Request: ?0", "-H", "X-Real-IP: 6.6.6.6",
        "-w", "\n%{http_code}", "https://" + NAME + "/spoof"));
    assertThat(curl.exit()).as(curl.output()).isZero();
    assertThat(curl.output()).endsWith("\n200");

    MultiMap headers = backend.seen(id).headers();
    assertThat(headers.getAll("X-Forwarded-For")).containsExactly("127.0.0.1");
    assertThat(headers.getAll("X-Forwarded-Proto")).containsExactly("https");
    assertThat(headers.getAll("X-Forwarded-Host")).containsExactly(NAME);
    assertThat(headers.getAll("Forwarded")).containsExactly("for=127.0.0.1;proto=https;host=" + NAME);
    assertThat(headers.getAll("Funnel-Request")).containsExactly("?1");
    assertThat(headers.contains("X-Real-IP")).isFalse();
    assertThat(headers.toString()).doesNotContain("6.6.6.6").doesNotContain("evil.example");
  }

  @Test
  void webSocketEchoesAThousandMessagesEachWay() throws Exception {
    String uri = "/ws/chat?room=a%20b&x=1&x=2&empty=&slash=%2F";
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setSsl(true).setVerifyHost(true).setTrustOptions(new PemTrustOptions().addCertPath(caPem().toString()))
        .setMaxFrameSize(1 << 20).setMaxMessageSize(1 << 20));
    // Host (and so SNI and the name checked in the certificate) is the node's name, resolved to
    // loopback; the port is the frontend's public 443. The Host header is what a browser sends for
    // wss://NAME/ (the public port is 443).
    WebSocketConnectOptions connect = new WebSocketConnectOptions()
        .setHost(NAME).setPort(public443).setSsl(true).setURI(uri)
        .putHeader("Host", NAME)
        .addHeader(RecordingHttpBackend.TEST_ID, "ws");

    List<Object> sent = messages(1000);
    List<Object> received = new ArrayList<>();
    CompletableFuture<List<Object>> allBack = new CompletableFuture<>();
    CompletableFuture<WebSocket> opened = new CompletableFuture<>();
    client.connect(connect).onComplete(ar -> {
      if (ar.failed()) {
        opened.completeExceptionally(ar.cause());
        return;
      }
      WebSocket ws = ar.result();
      ws.textMessageHandler(text -> arrived(received, text, sent.size(), allBack));
      ws.binaryMessageHandler(data -> arrived(received, data, sent.size(), allBack));
      ws.exceptionHandler(allBack::completeExceptionally);
      ws.closeHandler(v -> allBack.completeExceptionally(new IllegalStateException(
          "closed after " + received.size() + " messages")));
      opened.complete(ws);
      sendFrom(ws, sent, 0, Promise.promise());
    });
    WebSocket ws = opened.get(30, TimeUnit.SECONDS);
    try {
      List<Object> echoed = allBack.get(90, TimeUnit.SECONDS);
      assertThat(echoed).hasSize(sent.size());
      for (int i = 0; i < sent.size(); i++) {
        assertThat(echoed.get(i)).as("message %d", i).isEqualTo(sent.get(i));
      }
    } finally {
      ws.close().await(20, TimeUnit.SECONDS);
      client.close().await(20, TimeUnit.SECONDS);
    }

    RecordingHttpBackend.Seen upgrade = backend.seen("ws");
    assertThat(upgrade.version()).isEqualTo("WEBSOCKET");
    assertThat(upgrade.uri()).isEqualTo(uri);
    assertThat(upgrade.headers().getAll("X-Forwarded-For")).containsExactly("127.0.0.1");
    assertThat(upgrade.headers().getAll("Funnel-Request")).containsExactly("?1");
    assertThat(upgrade.headers().getAll("Host")).containsExactly(NAME);

    // The close went through the node without a SEVERE line or a stack trace (a request after it
    // has gone through the same node, so the close was handled before its output is read).
    Exec after = curl(List.of("-o", "/dev/null", "-w", "%{http_code}", "https://" + NAME + "/after-ws"));
    assertThat(after.output()).isEqualTo("200");
    assertThat(node.output()).as("node output after a WebSocket close").doesNotContain("SEVERE").doesNotContain("\tat ")
        .doesNotContain("Unknown channel option");
    assertThat(server.output()).as("server output after a WebSocket close").doesNotContain("SEVERE")
        .doesNotContain("\tat ");
  }

  @Test
  @Timeout(value = 400, unit = TimeUnit.SECONDS)
  void oneGibibyteStreamsUpAndDownThroughANodeWithA256MiBHeap() throws Exception {
    Path upload = dir.resolve("upload.bin");
    try (RandomAccessFile file = new RandomAccessFile(upload.toFile(), "rw")) {
      file.setLength(GIB); // sparse: costs no disk, reads as zeros
    }
    long hwmBefore = vmHwmKib(node.pid());

    long t0 = System.nanoTime();
    Exec up = curl(List.of("--http1.1", "--max-time", "180", "-T", upload.toString(),
        "-w", "\n%{http_code} %{size_upload}", "https://" + NAME + "/upload"), Duration.ofSeconds(200));
    double upSeconds = (System.nanoTime() - t0) / 1e9;
    Files.delete(upload);
    assertThat(up.exit()).as(up.output()).isZero();
    assertThat(up.output()).isEqualTo("received " + GIB + "\n\n200 " + GIB);
    assertThat(backend.uploadBytes.get()).isEqualTo(GIB);
    assertThat(node.isAlive()).isTrue();

    long t1 = System.nanoTime();
    Exec down = curl(List.of("--http2", "--max-time", "180", "-o", "/dev/null",
        "-w", "%{http_code} %{http_version} %{size_download}", "https://" + NAME + "/download?bytes=" + GIB),
        Duration.ofSeconds(200));
    double downSeconds = (System.nanoTime() - t1) / 1e9;
    assertThat(down.exit()).as(down.output()).isZero();
    assertThat(down.output()).isEqualTo("200 2 " + GIB);
    assertThat(backend.downloadBytesWritten.get()).isEqualTo(GIB);
    assertThat(node.isAlive()).isTrue();

    long hwmAfter = vmHwmKib(node.pid());
    System.out.printf("1 GiB upload (HTTP/1.1): %.1f s, %.0f MiB/s; 1 GiB download (HTTP/2): %.1f s, %.0f MiB/s;"
            + " node VmHWM %d MiB before, %d MiB after%n", upSeconds, 1024 / upSeconds, downSeconds,
        1024 / downSeconds, hwmBefore / 1024, hwmAfter / 1024);
    // And it still serves.
    curlReachesTheBackendWithForwardedHeadersAndTheExactRequest("2", "127.0.0.1");
  }

  @Test
  void backendDownGetsAShortPlain502() throws Exception {
    String url = "https://" + NAME + ":8443/before";
    Exec before = curl(List.of("-w", "\n%{http_code}", url));
    assertThat(before.output()).as("port 8443 works while its backend is up").endsWith("\n200");

    doomedBackend.close();
    for (String version : List.of("1.1", "2")) {
      Exec after = curl(List.of("--http" + version, "-w", "\n%{http_code} %{content_type}", url));
      assertThat(after.exit()).as(after.output()).isZero();
      String output = after.output();
      String body = output.substring(0, output.lastIndexOf('\n'));
      assertThat(output.substring(output.lastIndexOf('\n') + 1)).startsWith("502 text/plain");
      assertThat(body).isNotBlank().hasSizeLessThan(200).doesNotContain("Exception").doesNotContain("\tat ");
    }
    // The other port, and the node, are unaffected.
    Exec other = curl(List.of("-w", "\n%{http_code}", "https://" + NAME + "/still"));
    assertThat(other.output()).endsWith("\n200");
  }

  @Test
  void theClientSeesTheNodesOwnCertificateIssuedByTheDevCa() throws Exception {
    Exec sClient = Exec.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + public443,
        "-servername", NAME, "-CAfile", caPem().toString(), "-verify_return_error", "-verify_hostname", NAME));
    assertThat(sClient.output()).contains("Verify return code: 0 (ok)").containsPattern("subject=\\s*CN\\s*=\\s*"
        + Pattern.quote(NAME));
    X509Certificate seen = firstCertificate(sClient.output());

    assertThat(seen.getSubjectAlternativeNames().stream().map(san -> String.valueOf(san.get(1))))
        .containsExactly(NAME);
    assertThat(seen.getIssuerX500Principal()).isEqualTo(ca.getSubjectX500Principal());
    seen.verify(ca.getPublicKey());
    // It is the certificate the node keeps next to its own key …
    X509Certificate nodeCert = DevCa.Pem.certificates(Files.readString(nodeState.resolve("tls-cert.pem"))).get(0);
    assertThat(seen).isEqualTo(nodeCert);
    // … and not the one the server side presents (the gateway's).
    Exec gateway = Exec.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + gatewayPort,
        "-CAfile", caPem().toString()));
    assertThat(firstCertificate(gateway.output())).isNotEqualTo(seen);
  }

  @Test
  void theNodeTerminatesTlsWithOpenSsl() throws Exception {
    // On a Unix domain socket in the node's state directory (loopback TCP if that path were too long).
    Pattern line = Pattern.compile("terminating TLS for public port 443 on (?:\\S+/terminator-443-\\d+\\.sock|127\\.0\\.0\\.1:\\d+) → http://127\\.0\\.0\\.1:"
        + backend.port() + " \\((OpenSSL|JDK TLS), (\\d+) event loop\\(s\\)\\)");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Matcher m = line.matcher(node.output());
    boolean found;
    while (!(found = m.find()) && System.nanoTime() < deadline) {
      Thread.sleep(100); // the log line is on stderr, read by another thread than the ready line
      m = line.matcher(node.output());
    }
    assertThat(found).as("the terminator's line in the node's output:\n" + node.output()).isTrue();
    assertThat(m.group(1)).isEqualTo("OpenSSL");
    assertThat(Integer.parseInt(m.group(2))).as("event loops serving the port").isEqualTo(
        Runtime.getRuntime().availableProcessors());
  }

  // ---- helpers ----

  private Path caPem() {
    return state.resolve("ca.pem");
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  private Exec curl(List<String> args) throws Exception {
    return curl(args, Duration.ofSeconds(60));
  }

  /** curl to the node's name, connected to the frontend's public ports, trusting the dev CA. */
  private Exec curl(List<String> args, Duration timeout) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--cacert", caPem().toString(),
        "--connect-to", NAME + ":443:127.0.0.1:" + public443, "--connect-to", NAME + ":8443:127.0.0.1:" + public8443));
    if (!args.contains("--max-time")) {
      command.addAll(List.of("--max-time", "30"));
    }
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
      try {
        return process.getInputStream().readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish");
    }
    return new Exec(process.exitValue(), new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
  }

  /** Deterministic text and binary messages, 0 B to ~96 KiB (so some span several frames). */
  private static List<Object> messages(int count) {
    Random random = new Random(42);
    List<Object> messages = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int size = i % 100 == 0 ? 96 * 1024 + i : (i * 7919) % 20_000;
      if (i % 3 == 0) {
        StringBuilder text = new StringBuilder(size);
        for (int j = 0; j < size; j++) {
          text.append((char) ('a' + random.nextInt(26)));
        }
        messages.add(text.toString());
      } else {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        messages.add(Buffer.buffer(bytes));
      }
    }
    return messages;
  }

  /** Sends messages from {@code i} on, waiting for the write queue to drain when it fills (on the socket's context). */
  private static void sendFrom(WebSocket ws, List<Object> messages, int i, Promise<Void> done) {
    int next = i;
    while (next < messages.size() && !ws.writeQueueFull()) {
      Object m = messages.get(next++);
      if (m instanceof String text) {
        ws.writeTextMessage(text);
      } else {
        ws.writeBinaryMessage((Buffer) m);
      }
    }
    if (next == messages.size()) {
      done.complete();
      return;
    }
    int from = next;
    ws.drainHandler(v -> sendFrom(ws, messages, from, done));
  }

  private static void arrived(List<Object> received, Object message, int expected,
                              CompletableFuture<List<Object>> allBack) {
    received.add(message);
    if (received.size() == expected) {
      allBack.complete(List.copyOf(received));
    }
  }

  private static X509Certificate firstCertificate(String opensslOutput) throws Exception {
    Matcher m = Pattern.compile("-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----").matcher(opensslOutput);
    assertThat(m.find()).as(opensslOutput).isTrue();
    return (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(m.group().getBytes(StandardCharsets.US_ASCII)));
  }

  /** Peak resident set size of a process, in KiB (Linux). */
  private static long vmHwmKib(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    return -1;
  }
}
