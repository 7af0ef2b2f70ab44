package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A {@code funnel demo} whose stderr nobody reads, as when the collector at the other end of its
 * pipe stalls. The frontend writes an access line for every connection; the JDK's
 * {@code ConsoleHandler}, used until 2026-12-07, wrote it on the frontend's event loop, so once the
 * pipe's buffer (64 KiB, ~300 lines) was full the frontend answered no one. Now the log has a
 * thread of its own ({@code QueuedLines}): a thousand connections are each answered, a tunnel
 * still goes through, and SIGTERM still stops the process (its last lines wait for stderr a
 * bounded time).
 */
class StderrIT {

  private static final int CONNECTIONS = 1_000;
  private static final int PER_SOURCE = 90;

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void aStderrNobodyReadsHoldsUpNoConnection() throws Exception {
    Path dir = TempDirs.create("funnel-stderr");
    Path logs = Files.createDirectories(Path.of("target", "e2e-logs", "stderr"));
    Path stdout = logs.resolve("demo.stdout");
    List<String> command = new ArrayList<>(List.of(FunnelProcess.JAVA));
    command.addAll(FunnelProcess.defaultJvmFlags());
    command.addAll(List.of("-jar", FunnelProcess.JAR.toString(), "demo", "--state", dir.resolve("state").toString(),
        "--public", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"));
    // stdout to a file (the ready and curl lines); stderr a pipe that this test never reads.
    Process demo = new ProcessBuilder(command).redirectOutput(stdout.toFile()).start();
    try {
      String curlLine = curlLine(demo, stdout);
      Matcher port = Pattern.compile(":127\\.0\\.0\\.1:(\\d+) ").matcher(curlLine);
      assertThat(port.find()).as(curlLine).isTrue();
      int publicPort = Integer.parseInt(port.group(1));

      // Each connection names no node: refused with an alert, and one access line on stderr. From
      // several loopback sources, each within the frontend's per-source burst (100).
      for (int i = 0; i < CONNECTIONS; i++) {
        String source = "127.0.0." + (2 + i / PER_SOURCE);
        assertThat(alertFor(source, publicPort, "nobody-" + i + ".demo.funnel.localhost"))
            .as("connection %d answered (alert unrecognized_name)", i).isEqualTo(112);
      }

      Exec curl = Exec.run(Arrays.asList(curlLine.split("\\s+")));
      assertThat(curl.exit()).as(curlLine + "\n" + curl.output()).isZero();
      assertThat(curl.output()).contains("Hello from a private machine, through Funnel!");

      // SIGTERM: the stop waits for stderr only a bounded time (QueuedLines), then the process exits.
      demo.destroy();
      assertThat(demo.waitFor(60, TimeUnit.SECONDS)).as("exited within 60 s of SIGTERM").isTrue();
      assertThat(demo.exitValue()).isIn(0, 143);
    } finally {
      demo.destroyForcibly();
      demo.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static String curlLine(Process demo, Path stdout) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      if (Files.exists(stdout)) {
        List<String> lines = Files.readAllLines(stdout);
        if (lines.stream().anyMatch(l -> l.contains("ready"))) {
          return lines.stream().map(String::trim).filter(l -> l.startsWith("curl ")).findFirst()
              .orElseThrow(() -> new AssertionError("no curl line in:\n" + String.join("\n", lines)));
        }
      }
      assertThat(demo.isAlive()).as("funnel demo exited before it was ready").isTrue();
      Thread.sleep(100);
    }
    throw new AssertionError("funnel demo not ready within 90 s");
  }

  /** The alert's description byte the frontend answers a ClientHello for {@code name} with; −1 without one. */
  private static int alertFor(String source, int port, String name) throws Exception {
    try (Socket socket = new Socket()) {
      socket.setSoTimeout(10_000);
      socket.bind(new InetSocketAddress(source, 0));
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 10_000);
      socket.getOutputStream().write(TestTls.clientHello(name));
      InputStream in = socket.getInputStream();
      byte[] alert = in.readNBytes(7);
      return alert.length == 7 && alert[0] == 0x15 ? alert[6] & 0xff : -1;
    }
  }
}
