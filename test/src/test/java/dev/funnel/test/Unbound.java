package dev.funnel.test;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real recursive resolver for tests: Debian's {@code unbound} in the foreground with a
 * configuration written here, on 127.0.0.1 and a port chosen by the caller, no root hints (each zone
 * the test needs is a stub zone pointing at a server on 127.0.0.1), no DNSSEC validation, and no
 * caching ({@code cache-max-ttl: 0}, {@code cache-max-negative-ttl: 0}) so a record removed from a
 * zone is gone on the next question.
 */
final class Unbound implements AutoCloseable {

  final int port;
  private final Process process;
  private final Path log;

  private Unbound(int port, Process process, Path log) {
    this.port = port;
    this.process = process;
    this.log = log;
  }

  /** unbound, or null when it is not installed. */
  static Path binary() {
    for (String candidate : List.of("/usr/sbin/unbound", "/usr/bin/unbound", "/usr/local/sbin/unbound")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Path.of(candidate);
      }
    }
    return null;
  }

  /** Starts unbound on 127.0.0.1:{@code port}, each zone of {@code stubs} (zone → port) served by 127.0.0.1:port. */
  static Unbound start(Path dir, int port, Map<String, Integer> stubs) throws Exception {
    Files.createDirectories(dir);
    StringBuilder conf = new StringBuilder()
        .append("server:\n")
        .append("  interface: 127.0.0.1\n")
        .append("  port: ").append(port).append('\n')
        .append("  do-ip6: no\n")
        .append("  do-not-query-localhost: no\n")
        .append("  access-control: 127.0.0.0/8 allow\n")
        .append("  username: \"\"\n")
        .append("  chroot: \"\"\n")
        .append("  directory: \"").append(dir).append("\"\n")
        .append("  pidfile: \"").append(dir.resolve("unbound.pid")).append("\"\n")
        .append("  use-syslog: no\n")
        .append("  logfile: \"\"\n")
        .append("  verbosity: 1\n")
        .append("  num-threads: 1\n")
        .append("  module-config: \"iterator\"\n")
        .append("  cache-max-ttl: 0\n")
        .append("  cache-max-negative-ttl: 0\n")
        .append("  prefetch: no\n")
        .append("  qname-minimisation: no\n")
        .append("  harden-referral-path: no\n")
        .append("  local-zone: \"test.\" nodefault\n");
    for (String zone : stubs.keySet()) {
      conf.append("  domain-insecure: \"").append(zone).append("\"\n");
    }
    for (Map.Entry<String, Integer> stub : stubs.entrySet()) {
      conf.append("stub-zone:\n")
          .append("  name: \"").append(stub.getKey()).append("\"\n")
          .append("  stub-addr: 127.0.0.1@").append(stub.getValue()).append('\n');
    }
    conf.append("remote-control:\n  control-enable: no\n");
    Path file = dir.resolve("unbound.conf");
    Files.writeString(file, conf);
    Path log = dir.resolve("unbound.log");
    Process process = new ProcessBuilder(binary().toString(), "-d", "-c", file.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    Unbound unbound = new Unbound(port, process, log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("unbound exited " + process.exitValue() + ": " + Files.readString(log));
      }
      try (Socket s = new Socket()) {
        s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 200);
        return unbound;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    unbound.close();
    throw new IOException("unbound did not listen on 127.0.0.1:" + port + " within 15 s: " + Files.readString(log));
  }

  String log() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws Exception {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }
}
