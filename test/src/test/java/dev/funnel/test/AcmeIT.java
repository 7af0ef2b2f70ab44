package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Vertx;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * ACME on the node against a real ACME CA: Debian's {@code pebble} (Let's Encrypt's test CA) on
 * 127.0.0.1, its validation port ({@code tlsPort}) the frontend's public port for 443 and its
 * resolver ({@code -dnsserver}) Funnel's own DNS ({@code funnel server --dns-listen 127.0.0.1:0}),
 * so the CA finds the node exactly as a public CA would: by Funnel's DNS answer and through the
 * frontend. Real {@code funnel server} and {@code funnel node --acme} processes; {@code openssl
 * s_client}, {@code curl} (trusting only Pebble's root, fetched from its management port) and
 * {@code dig} as the clients. The base domain is {@code funnel.test}: Pebble refuses names under
 * {@code .localhost}.
 *
 * <p>One scenario in order: tls-alpn-01 → the page through the funnel with Pebble's certificate →
 * a forced renewal swaps the certificate under an open download, and {@code funnel cert --on-renew}
 * hands it on → a second node forced to dns-01 sets its TXT through its session, and it is removed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AcmeIT {

  static final String DOMAIN = "funnel.test";
  static final String NAME = "web.demo." + DOMAIN;
  static final String DNS_NAME = "txt.demo." + DOMAIN;
  static final Pattern SERIAL = Pattern.compile("serial=([0-9A-Fa-f]+)");

  private Path dir;
  private Path state;
  private Path nodeState;
  private Path logs;
  private Vertx vertx;
  private RecordingHttpBackend backend;
  private FunnelProcess server;
  private FunnelProcess node;
  private FunnelProcess dnsNode;
  private FunnelProcess certWatch;
  private FunnelProcess tcpNode;
  private FunnelProcess tcpCertWatch;
  private Process nginx;
  private Pebble pebble;
  private int publicPort;
  private int gatewayPort;
  private int dnsPort;
  private String authKey;

  @BeforeAll
  void start() throws Exception {
    for (String tool : List.of("pebble", "openssl", "curl", "dig")) {
      assumeTrue(Exec.run(List.of("sh", "-c", "command -v " + tool)).exit() == 0,
          tool + " is not installed (Debian: pebble, openssl, curl, dnsutils; .ci/run installs them)");
    }
    dir = TempDirs.create("funnel-acme");
    state = dir.resolve("state");
    nodeState = dir.resolve("node-state");
    logs = Path.of("target", "e2e-logs", "acme");
    Files.createDirectories(logs);
    vertx = Vertx.vertx();
    backend = new RecordingHttpBackend(vertx);

    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--dns-listen", "127.0.0.1:0", "--dns-frontends", "127.0.0.1");
    publicPort = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    dnsPort = Integer.parseInt(server.fromReadyLine("dns 127\\.0\\.0\\.1:(\\d+) \\(udp, tcp\\)"));
    pebble = Pebble.start(dir, logs, "AcmeIT", publicPort, dnsPort);

    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    authKey = admin("key", "add", "--tailnet", "demo", "--reusable").lastLine().trim();
  }

  @AfterAll
  void stopAll() throws Exception {
    if (nginx != null) {
      nginx.destroy();
      if (!nginx.waitFor(10, TimeUnit.SECONDS)) {
        nginx.destroyForcibly();
      }
    }
    for (AutoCloseable c : new AutoCloseable[] {tcpCertWatch, tcpNode, certWatch, dnsNode, node, server, pebble}) {
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
  void theNodeGetsItsCertificateFromTheCaThroughTheFunnelWithTlsAlpn01() throws Exception {
    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "web", "--ca", state.resolve("ca.pem").toString(),
        "--state", nodeState.toString(), "--funnel", "443=http://127.0.0.1:" + backend.port(),
        "--acme", "--acme-directory", pebble.directory(), "--acme-ca", pebble.ca.toString(),
        "--acme-email", "ops@example.com", "--acme-challenge", "tls-alpn-01");
    String presented = presentedUntil(NAME, out -> out.contains("Pebble Intermediate"));
    assertThat(presented).as("issuer is Pebble's intermediate").contains("issuer=CN = Pebble Intermediate CA");
    assertThat(presented).as("the node's own name").contains("DNS:" + NAME);
    assertThat(node.output()).contains("ACME tls-alpn-01 validation connection: answered with the challenge certificate")
        .contains("ACME: new certificate for " + NAME);

    Exec page = curl("https://" + NAME + "/");
    assertThat(page.exit()).as(page.output()).isZero();
    assertThat(page.output()).contains("hello").endsWith("200");

    for (String file : List.of("acme-account-key.pem", "acme-key.pem", "acme-cert.pem")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nodeState.resolve(file))))
          .as(file).isEqualTo("rw-------");
    }
    // The private key exists only in the node's state directory: not in the server's state or any log.
    String keyBody = pemBody(Files.readString(nodeState.resolve("acme-key.pem")));
    try (Stream<Path> files = Files.walk(state)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        assertThat(Files.readString(f, StandardCharsets.ISO_8859_1)).as(f.toString()).doesNotContain(keyBody);
      }
    }
    assertThat(server.output()).doesNotContain(keyBody);
    assertThat(node.output()).doesNotContain(keyBody);
  }

  @Test
  @Order(2)
  void aForcedRenewalSwapsTheCertificateUnderAnOpenDownloadAndFunnelCertHandsItOn() throws Exception {
    String before = serial(presentedUntil(NAME, out -> out.contains("Pebble Intermediate")));
    Path certOut = dir.resolve("out").resolve("node.crt");
    Path keyOut = dir.resolve("out").resolve("node.key");
    Path marker = dir.resolve("out").resolve("reloaded");
    certWatch = FunnelProcess.start("cert-watch", logs, List.of(), "cert", "--state", nodeState.toString(),
        "--cert-file", certOut.toString(), "--key-file", keyOut.toString(), "--on-renew", "echo reloaded >> " + marker);
    assertThat(Files.readString(certOut)).isEqualTo(Files.readString(nodeState.resolve("acme-cert.pem")));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyOut))).isEqualTo("rw-------");

    // A long download, paced by the client, stays open across the renewal: curl writes the body into
    // a pipe that this test reads slowly (about 1 MiB/s; curl stops reading the socket while the pipe
    // is full) until the new certificate is seen, and then as fast as it comes.
    long bytes = 64L * 1024 * 1024;
    Path downloadErr = dir.resolve("out").resolve("download.err");
    Process curl = new ProcessBuilder("curl", "-sS", "--http1.1", "--max-time", "150", "-o", "-",
        "--cacert", pebble.root.toString(), "--connect-to", NAME + ":443:127.0.0.1:" + publicPort,
        "-w", "%{stderr}%{http_code} %{size_download}", "https://" + NAME + "/download?bytes=" + bytes)
        .redirectError(downloadErr.toFile()).start();
    curl.getOutputStream().close();
    AtomicBoolean paced = new AtomicBoolean(true);
    AtomicLong received = new AtomicLong();
    String after;
    CompletableFuture<Exec> download = CompletableFuture.supplyAsync(() -> {
      try (InputStream body = curl.getInputStream()) {
        byte[] buffer = new byte[64 * 1024];
        for (int n = body.read(buffer); n >= 0; n = body.read(buffer)) {
          received.addAndGet(n);
          if (paced.get()) {
            Thread.sleep(50);
          }
        }
        if (!curl.waitFor(60, TimeUnit.SECONDS)) {
          curl.destroyForcibly();
        }
        return new Exec(curl.exitValue(), Files.readString(downloadErr));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    try {
      long underway = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (received.get() < 1024 * 1024 && !download.isDone() && System.nanoTime() < underway) {
        Thread.sleep(50);
      }
      assertThat(received.get()).as("the download is under way before the renewal").isGreaterThanOrEqualTo(1024 * 1024);
      assertThat(download).as("the download is still running when the renewal starts").isNotDone();
      FunnelProcess.Result renewed = FunnelProcess.run(logs, "cert", "--state", nodeState.toString(), "--renew",
          "--cert-file", dir.resolve("out").resolve("once.crt").toString(),
          "--key-file", dir.resolve("out").resolve("once.key").toString());
      assertThat(renewed.exit()).as(renewed.all()).isZero();
      assertThat(renewed.all()).contains("renewed: " + NAME);
      after = serial(presentedUntil(NAME, out -> !before.equals(serial(out))));
      assertThat(after).as("new handshakes get the new certificate").isNotEqualTo(before);
      assertThat(download).as("the open download was not dropped by the swap").isNotDone();
      assertThat(received.get()).as("bytes received while paced, of " + bytes).isLessThan(bytes);
    } finally {
      paced.set(false);
    }

    Exec done = download.get(160, TimeUnit.SECONDS);
    assertThat(done.exit()).as(done.output()).isZero();
    assertThat(done.output()).isEqualTo("200 " + bytes);
    assertThat(received.get()).as("bytes read from curl").isEqualTo(bytes);

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!Files.exists(marker) && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    assertThat(marker).as("funnel cert --on-renew ran its command").exists();
    assertThat(Files.readString(certOut)).as("and wrote the renewed certificate")
        .isEqualTo(Files.readString(nodeState.resolve("acme-cert.pem")));
    assertThat(serial(Exec.run(List.of("openssl", "x509", "-noout", "-serial", "-in", certOut.toString())).output()))
        .isEqualTo(after);
  }

  @Test
  @Order(3)
  void dns01SetsTheNodesOwnTxtThroughItsSessionAndRemovesItAfter() throws Exception {
    String txtName = "_acme-challenge." + DNS_NAME;
    assertThat(dig(txtName, "TXT", "+short").strip()).as("no TXT before the order").isEmpty();
    dnsNode = FunnelProcess.start("dns-node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "txt", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("dns-node-state").toString(), "--funnel", "443=http://127.0.0.1:" + backend.port(),
        "--acme", "--acme-directory", pebble.directory(), "--acme-ca", pebble.ca.toString(),
        "--acme-challenge", "dns-01");
    String presented = presentedUntil(DNS_NAME, out -> out.contains("Pebble Intermediate"));
    assertThat(presented).contains("DNS:" + DNS_NAME);
    // Pebble's only resolver is Funnel's DNS, so a dns-01 issuance means Funnel's DNS served the
    // TXT (the registry logs it set and removed; it lives well under a second with PEBBLE_VA_NOSLEEP,
    // too short to catch with dig reliably under the DNS rate limit).
    assertThat(dnsNode.output()).contains("ACME order for " + DNS_NAME + " (dns-01)")
        .contains("ACME: new certificate for " + DNS_NAME);
    assertThat(server.output()).contains("ACME dns-01 value for " + DNS_NAME + " set")
        .contains("ACME dns-01 value for " + DNS_NAME + " removed");
    assertThat(dig(txtName, "TXT", "+short").strip()).as("removed after the order").isEmpty();
    assertThat(dig(txtName, "TXT")).contains("status: NXDOMAIN");
    assertThat(dnsNode.output()).doesNotContain("tls-alpn-01 validation connection");
    Exec page = curl("https://" + DNS_NAME + "/");
    assertThat(page.output()).contains("hello").endsWith("200");
  }

  /**
   * A {@code tcp://} node: nginx (Debian's) terminates TLS itself with the files {@code funnel cert}
   * wrote. The node's order still validates with tls-alpn-01 through the funnel (the acme-tls/1
   * connection goes to the node's responder, not to nginx), and after a forced renewal the
   * {@code --on-renew} hook reloads nginx, which then serves the new certificate.
   */
  @Test
  @Order(4)
  void aTcpTargetGetsTheCertificateThroughFunnelCertAndItsReloadHook() throws Exception {
    assumeTrue(Exec.run(List.of("sh", "-c", "command -v nginx || test -x /usr/sbin/nginx")).exit() == 0,
        "nginx is not installed (Debian: nginx-light)");
    String nginxBin = Files.isExecutable(Path.of("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : "nginx";
    String tcpName = "tls.demo." + DOMAIN;
    Path tcpState = dir.resolve("tcp-node-state");
    int nginxPort = Ports.free();
    tcpNode = FunnelProcess.start("tcp-node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "tls", "--ca", state.resolve("ca.pem").toString(),
        "--state", tcpState.toString(), "--funnel", "443=tcp://127.0.0.1:" + nginxPort,
        "--acme", "--acme-directory", pebble.directory(), "--acme-ca", pebble.ca.toString(),
        "--acme-challenge", "tls-alpn-01");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (!tcpNode.output().contains("ACME: new certificate for " + tcpName) && System.nanoTime() < deadline) {
      Thread.sleep(300);
    }
    assertThat(tcpNode.output()).contains("ACME tls-alpn-01 validation connection")
        .contains("ACME: new certificate for " + tcpName);

    Path home = dir.resolve("nginx");
    Files.createDirectories(home.resolve("tmp"));
    Path cert = home.resolve("node.crt");
    Path key = home.resolve("node.key");
    Path conf = home.resolve("nginx.conf");
    Files.writeString(conf, String.join("\n",
        "user root;", "daemon off;", "worker_processes 1;",
        "pid " + home.resolve("nginx.pid") + ";",
        "error_log " + home.resolve("error.log") + " warn;",
        "events { worker_connections 64; }",
        "http {",
        "  access_log off;",
        "  client_body_temp_path " + home.resolve("tmp") + ";",
        "  proxy_temp_path " + home.resolve("tmp") + ";",
        "  fastcgi_temp_path " + home.resolve("tmp") + ";",
        "  uwsgi_temp_path " + home.resolve("tmp") + ";",
        "  scgi_temp_path " + home.resolve("tmp") + ";",
        "  server {",
        "    listen 127.0.0.1:" + nginxPort + " ssl;",
        "    ssl_certificate " + cert + ";",
        "    ssl_certificate_key " + key + ";",
        "    location / { return 200 \"nginx behind a tcp:// funnel\\n\"; }",
        "  }",
        "}", ""));
    String reload = nginxBin + " -e " + home.resolve("error.log") + " -p " + home + " -c " + conf + " -s reload";
    tcpCertWatch = FunnelProcess.start("tcp-cert-watch", logs, List.of(), "cert", "--state", tcpState.toString(),
        "--cert-file", cert.toString(), "--key-file", key.toString(), "--on-renew", reload);
    nginx = new ProcessBuilder(nginxBin, "-e", home.resolve("error.log").toString(), "-p", home.toString(),
        "-c", conf.toString()).redirectErrorStream(true).redirectOutput(logs.resolve("nginx.log").toFile()).start();

    Exec page = curlUntil("https://" + tcpName + "/", out -> out.contains("nginx behind a tcp:// funnel"));
    assertThat(page.output()).contains("nginx behind a tcp:// funnel").endsWith("200");
    String before = serial(presented(tcpName));
    assertThat(presented(tcpName)).contains("Pebble Intermediate").contains("DNS:" + tcpName);

    FunnelProcess.Result renewed = FunnelProcess.run(logs, "cert", "--state", tcpState.toString(), "--renew",
        "--cert-file", home.resolve("once.crt").toString(), "--key-file", home.resolve("once.key").toString());
    assertThat(renewed.exit()).as(renewed.all()).isZero();
    String after = serial(presentedUntil(tcpName, out -> !before.isEmpty() && !before.equals(serial(out))
        && out.contains("Pebble Intermediate")));
    assertThat(after).as("nginx serves the renewed certificate after the hook reloaded it").isNotEqualTo(before);
    assertThat(tcpCertWatch.output()).contains("exited 0");
    assertThat(curl("https://" + tcpName + "/").output()).contains("nginx behind a tcp:// funnel").endsWith("200");
  }

  // ---------------------------------------------------------------- helpers

  /** openssl s_client through the frontend, until {@code done} holds on the presented leaf (at most 60 s). */
  private String presentedUntil(String name, Predicate<String> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String out = presented(name);
    while (!done.test(out) && System.nanoTime() < deadline) {
      Thread.sleep(500);
      out = presented(name);
    }
    assertThat(done.test(out)).as("presented certificate for " + name + ":\n" + out).isTrue();
    return out;
  }

  private String presented(String name) throws Exception {
    Exec leaf = Exec.run(List.of("sh", "-c", "openssl s_client -connect 127.0.0.1:" + publicPort + " -servername "
        + name + " </dev/null 2>/dev/null | openssl x509 -noout -issuer -serial -ext subjectAltName"));
    return leaf.output();
  }

  private static String serial(String openssl) {
    Matcher m = SERIAL.matcher(openssl);
    return m.find() ? m.group(1) : "";
  }

  /** curl until {@code done} holds on its output (at most 30 s). */
  private Exec curlUntil(String url, Predicate<String> done) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Exec out = curl(url);
    while (!done.test(out.output()) && System.nanoTime() < deadline) {
      Thread.sleep(300);
      out = curl(url);
    }
    return out;
  }

  private Exec curl(String url) throws Exception {
    String host = url.replaceFirst("https://", "").replaceFirst("/.*", "");
    return Exec.run(List.of("curl", "-sS", "--max-time", "20", "--cacert", pebble.root.toString(), "--connect-to",
        host + ":443:127.0.0.1:" + publicPort, "-w", "%{http_code}", url));
  }

  private String dig(String name, String type, String... extra) throws Exception {
    return Dig.ask(dnsPort, name, type, extra);
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }

  /**
   * The secret part of a PKCS#8 P-256 key's PEM body, on one line (how it would appear if copied
   * anywhere): the key is written without its public half, so the private scalar is its last 32
   * bytes, the last 44 base64 characters; the start is the same for every such key.
   */
  private static String pemBody(String pem) {
    String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    assertThat(Base64.getDecoder().decode(body)).hasSize(67);
    return body.substring(body.length() - 44);
  }
}
