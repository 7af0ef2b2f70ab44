package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code funnel demo} as a newcomer runs it: one process, the curl line it prints run exactly as
 * printed, then Ctrl-C (SIGTERM).
 */
class DemoIT {

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS)
  void theCurlLineItPrintsWorksAndSigtermStopsItCleanly() throws Exception {
    Path state = TempDirs.create("funnel-demo").resolve("state");
    Path logs = Path.of("target", "e2e-logs", "demo");
    try (FunnelProcess demo = FunnelProcess.start("demo", logs, List.of(), "demo", "--state", state.toString(),
        "--public", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")) {
      assertThat(demo.awaitReady(Duration.ofSeconds(5))).contains("funnel demo ready (hello.demo.funnel.localhost");

      String curlLine = demo.stdout().stream().map(String::trim).filter(l -> l.startsWith("curl "))
          .findFirst().orElseThrow(() -> new AssertionError("no curl line in:\n" + demo.output()));
      // The printed line names the port the frontend really bound, not the :0 it was given.
      assertThat(curlLine).doesNotContain(":127.0.0.1:0 ").matches(".*:127\\.0\\.0\\.1:[1-9]\\d* https://.*");
      List<String> args = Arrays.asList(curlLine.split("\\s+"));
      Exec curl = Exec.run(args);
      assertThat(curl.exit()).as(curlLine + "\n" + curl.output()).isZero();
      // (curl's progress meter goes to stderr, which Exec keeps too: hence contains, not equals)
      assertThat(curl.output())
          .contains("Hello from a private machine, through Funnel!\n")
          .contains("host:              hello.demo.funnel.localhost\n")
          .contains("X-Forwarded-For:   127.0.0.1\n")
          .contains("X-Forwarded-Proto: https\n")
          .contains("Funnel-Request:    ?1\n");

      // Ctrl-C: the JVM runs the shutdown hook (closes Vert.x: listeners, sessions, the store) and
      // exits with 128 + SIGTERM = 143, the usual status of a process stopped by SIGTERM.
      OptionalInt exit = demo.terminate(Duration.ofSeconds(15));
      assertThat(exit).as("exited within 15 s of SIGTERM").isPresent();
      assertThat(exit.getAsInt()).as(demo.output()).isIn(0, 143);
      System.out.println("funnel demo exited with " + exit.getAsInt() + " after SIGTERM");
      assertThat(demo.output()).doesNotContain("Exception");
    }
  }
}
