package dev.funnel.registry.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Every write the store acknowledged survives the process being killed with SIGKILL mid-burst. */
@Timeout(60)
class CrashSafetyTest {

  /** Kill the writer once it has acknowledged this many inserts. */
  private static final int ACKNOWLEDGED_BEFORE_KILL = 200;

  @TempDir
  Path state;

  @Test
  void acknowledgedWritesSurviveKillDashNine() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process writer = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        CrashWriter.class.getName(), state.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    List<String> acknowledged = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8))) {
      assertThat(out.readLine()).isEqualTo("open");
      String line;
      while (acknowledged.size() < ACKNOWLEDGED_BEFORE_KILL && (line = out.readLine()) != null) {
        acknowledged.add(line);
      }
      // SIGKILL on Linux: no shutdown hooks, no H2 close. (Process.destroyForcibly would also close our end
      // of the pipe and lose the names still in it.)
      writer.toHandle().destroyForcibly();
      assertThat(writer.waitFor(20, TimeUnit.SECONDS)).isTrue();
      // Names printed after the count was reached were acknowledged too.
      while ((line = out.readLine()) != null) {
        acknowledged.add(line);
      }
    } finally {
      writer.destroyForcibly();
    }
    assertThat(acknowledged).hasSizeGreaterThanOrEqualTo(ACKNOWLEDGED_BEFORE_KILL);
    try (H2ControlStore store = H2ControlStore.open(state)) {
      Set<String> stored = store.tailnets().stream().map(Tailnet::name).collect(Collectors.toSet());
      assertThat(stored).containsAll(acknowledged);
    }
  }
}
