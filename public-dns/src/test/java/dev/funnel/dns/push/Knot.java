package dev.funnel.dns.push;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A real Knot DNS primary for tests (Debian's {@code knot}; the end-to-end tests in test/ use it too,
 * through this module's test-jar): {@code knotd} with a configuration
 * written here, listening on 127.0.0.1 and a free port, its run and storage directories in
 * {@code dir}, one zone that accepts updates and transfers signed by one TSIG key. Updates are
 * kept in the journal (so a restart keeps them); the zone file is never written.
 */
public final class Knot implements AutoCloseable {

  public static final String KEY = "funnel-push";

  public final Path dir;
  public final String zone;
  public final String secret;
  public int port;
  private Process process;

  private Knot(Path dir, String zone) {
    this.dir = dir;
    this.zone = zone;
    byte[] bytes = new byte[32];
    ThreadLocalRandom.current().nextBytes(bytes);
    this.secret = Base64.getEncoder().encodeToString(bytes);
  }

  /** knotd, or null when Knot is not installed. */
  public static Path binary() {
    for (String candidate : List.of("/usr/sbin/knotd", "/usr/bin/knotd", "/usr/local/sbin/knotd")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Path.of(candidate);
      }
    }
    return null;
  }

  /** Starts Knot for {@code zone}, its zone file holding SOA, NS and the extra lines {@code records}. */
  public static Knot start(Path dir, String zone, String... records) throws Exception {
    Knot knot = new Knot(dir, zone);
    Files.createDirectories(dir);
    StringBuilder file = new StringBuilder()
        .append("$ORIGIN ").append(zone).append(".\n$TTL 3600\n")
        .append("@ SOA ns1 hostmaster 1 3600 600 1209600 60\n@ NS ns1\nns1 A 127.0.0.1\n");
    for (String r : records) {
      file.append(r).append('\n');
    }
    Files.writeString(dir.resolve(zone + ".zone"), file);
    for (int attempt = 1; ; attempt++) {
      knot.port = freePort();
      try {
        knot.launch();
        return knot;
      } catch (IOException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
  }

  /** Sends SIGKILL (no clean shutdown) and waits for knotd to be gone. */
  public void kill() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Starts knotd again on the same port (after {@link #stop} or {@link #kill}). */
  public void restart() throws Exception {
    launch();
  }

  private void launch() throws Exception {
    Files.writeString(dir.resolve("knot.conf"), String.join("\n",
        "server:",
        "    rundir: \"" + dir + "\"",
        "    pidfile: \"" + dir.resolve("knot.pid") + "\"",
        "    listen: 127.0.0.1@" + port,
        "log:",
        "  - target: stderr",
        "    any: info",
        "database:",
        "    storage: \"" + dir + "\"",
        "key:",
        "  - id: " + KEY,
        "    algorithm: hmac-sha256",
        "    secret: " + secret,
        "acl:",
        "  - id: funnel",
        "    key: " + KEY,
        "    action: [update, transfer]",
        "template:",
        "  - id: default",
        "    storage: \"" + dir + "\"",
        "    zonefile-sync: -1",
        "    journal-content: changes",
        "zone:",
        "  - domain: " + zone,
        "    acl: funnel",
        ""));
    Path log = dir.resolve("knotd.log");
    long logged = Files.exists(log) ? Files.size(log) : 0;
    process = new ProcessBuilder(binary().toString(), "-c", dir.resolve("knot.conf").toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("knotd exited " + process.exitValue() + ": " + Files.readString(log));
      }
      if (answers(logged)) {
        return;
      }
      Thread.sleep(50);
    }
    process.destroyForcibly();
    throw new IOException("knotd did not listen on 127.0.0.1:" + port + " within 15 s: " + Files.readString(log));
  }

  /** Whether TCP on the port accepts and the zone is loaded (said in the log after byte {@code from}). */
  private boolean answers(long from) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
    } catch (IOException e) {
      return false;
    }
    byte[] log = Files.readAllBytes(dir.resolve("knotd.log"));
    return new String(log, (int) from, log.length - (int) from, StandardCharsets.UTF_8).contains("loaded, serial");
  }

  /** Stops knotd (SIGTERM) and waits for it. */
  public void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  public String log() throws IOException {
    return Files.readString(dir.resolve("knotd.log"));
  }

  @Override
  public void close() throws Exception {
    stop();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
