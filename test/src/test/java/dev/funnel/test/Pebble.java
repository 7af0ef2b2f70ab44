package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real ACME CA for tests: Debian's {@code pebble} (Let's Encrypt's test CA) on 127.0.0.1 and free
 * ports, with a listener certificate made here by openssl (Debian ships none), resolving names
 * through the DNS server given to {@link #start} and validating tls-alpn-01 at the port given there.
 * Its root (what issued certificates chain to) is fetched from the management port into {@link #root}.
 */
final class Pebble implements AutoCloseable {

  /** The CA of Pebble's own listener certificate (what an ACME client must trust to reach it). */
  final Path ca;
  /** Pebble's root certificate (PEM), the trust anchor of the certificates it issues. */
  final Path root;
  /** The ACME port on 127.0.0.1. */
  final int acmePort;
  private final Process process;

  private Pebble(Path ca, Path root, int acmePort, Process process) {
    this.ca = ca;
    this.root = root;
    this.acmePort = acmePort;
    this.process = process;
  }

  /**
   * Starts Pebble with its files in {@code dir/pebble} and its log at {@code logs/pebble.log}; its
   * listener CA is named {@code "<owner> Pebble listener CA"}.
   *
   * @param tlsPort where Pebble connects for tls-alpn-01 (the frontend's public port)
   * @param dnsPort the DNS server on 127.0.0.1 Pebble resolves every name through
   */
  static Pebble start(Path dir, Path logs, String owner, int tlsPort, int dnsPort) throws Exception {
    Path pebbleDir = dir.resolve("pebble");
    Files.createDirectories(pebbleDir);
    Path ca = pebbleDir.resolve("listener-ca.pem");
    Path caKey = pebbleDir.resolve("listener-ca-key.pem");
    Path key = pebbleDir.resolve("key.pem");
    Path csr = pebbleDir.resolve("req.csr");
    Path cert = pebbleDir.resolve("cert.pem");
    Path ext = pebbleDir.resolve("ext.cnf");
    Files.writeString(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        caKey.toString(), "-out", ca.toString(), "-days", "2", "-subj", "/CN=" + owner + " Pebble listener CA");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(),
        "-out", csr.toString(), "-subj", "/CN=localhost");
    openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
    int acmePort = Ports.free();
    int managementPort = Ports.free();
    Path config = pebbleDir.resolve("pebble-config.json");
    Files.writeString(config, "{\"pebble\": {"
        + "\"listenAddress\": \"127.0.0.1:" + acmePort + "\", "
        + "\"managementListenAddress\": \"127.0.0.1:" + managementPort + "\", "
        + "\"certificate\": \"" + cert + "\", \"privateKey\": \"" + key + "\", "
        + "\"httpPort\": " + Ports.free() + ", \"tlsPort\": " + tlsPort + ", "
        + "\"ocspResponderURL\": \"\", \"externalAccountBindingRequired\": false}}");
    ProcessBuilder builder = new ProcessBuilder("pebble", "-config", config.toString(),
        "-dnsserver", "127.0.0.1:" + dnsPort)
        .redirectErrorStream(true).redirectOutput(logs.resolve("pebble.log").toFile());
    Map<String, String> env = builder.environment();
    env.put("PEBBLE_VA_NOSLEEP", "1");
    env.put("PEBBLE_WFE_NONCEREJECT", "0");
    env.put("PEBBLE_AUTHZREUSE", "0");
    Pebble pebble = new Pebble(ca, pebbleDir.resolve("root.pem"), acmePort, builder.start());
    String root = "";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!root.contains("BEGIN CERTIFICATE") && System.nanoTime() < deadline) {
      Thread.sleep(200);
      root = Exec.run(List.of("curl", "-sS", "--max-time", "5", "--cacert", ca.toString(),
          "https://127.0.0.1:" + managementPort + "/roots/0")).output();
    }
    if (!root.contains("BEGIN CERTIFICATE")) {
      pebble.close();
    }
    assertThat(root).as("Pebble's root from its management port").contains("BEGIN CERTIFICATE");
    Files.writeString(pebble.root, root);
    return pebble;
  }

  /** The ACME directory URL. */
  String directory() {
    return "https://127.0.0.1:" + acmePort + "/dir";
  }

  /** Stops Pebble (SIGTERM, then SIGKILL after 10 s). */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }

  private static void openssl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Exec result = Exec.run(command);
    assertThat(result.exit()).as(String.join(" ", command) + "\n" + result.output()).isZero();
  }
}
