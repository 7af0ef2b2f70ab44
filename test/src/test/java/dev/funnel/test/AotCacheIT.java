package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@code ./funnel} script's ahead-of-time cache ({@code FUNNEL_AOT_CACHE}, JDK 25 or later), as
 * an operator uses it: {@code ./funnel demo} runs once, serves its curl line and is stopped (SIGTERM),
 * which records the cache for this command and jar; the next start opens that cache, with no JVM
 * warning. Skipped when no JDK 25 or later is under {@code /usr/lib/jvm} (or in
 * {@code -Dfunnel.it.java25}).
 */
class AotCacheIT {

  private static final Path SCRIPT = Path.of("..", "funnel").toAbsolutePath().normalize();

  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void theFirstRunRecordsTheCacheAndTheNextStartOpensIt() throws Exception {
    Optional<Path> java25 = java25();
    assumeTrue(java25.isPresent(), "no JDK 25 or later here");
    Path dir = TempDirs.create("funnel-aot");
    Path cacheDir = dir.resolve("cache");
    Path logs = Path.of("target", "e2e-logs", "aot").toAbsolutePath();
    Files.createDirectories(logs);

    Run first = Run.demo(java25.get(), dir.resolve("state-1"), cacheDir, logs.resolve("first"), "");
    first.curlOnce();
    first.stop();
    String key = "demo-" + Files.size(FunnelProcess.JAR.toAbsolutePath()) + "-"
        + Files.getLastModifiedTime(FunnelProcess.JAR.toAbsolutePath()).to(TimeUnit.SECONDS) + ".aot";
    Path cache = cacheDir.resolve(key);
    assertThat(cache).as("the cache the first run recorded").isRegularFile();
    assertThat(Files.size(cache)).isPositive();
    assertThat(Files.readAllLines(first.err)).as("the recording's notes stay off stderr")
        .noneMatch(l -> l.contains("[warning][aot]") || l.contains("[warning][cds]"));
    assertThat(Path.of(cache + ".log")).as("they go beside the cache").isRegularFile();

    Path jvmLog = logs.resolve("second-aot.log");
    Files.deleteIfExists(jvmLog);
    Run second = Run.demo(java25.get(), dir.resolve("state-2"), cacheDir, logs.resolve("second"),
        "-Xlog:aot=info:file=" + jvmLog);
    second.curlOnce();
    second.stop();
    assertThat(Files.readString(jvmLog)).as("the JVM's AOT log").contains("Opened AOT cache " + cache);
    assertThat(Files.readAllLines(second.err)).as("JVM warnings on stderr")
        .noneMatch(l -> l.contains("[warning]") && (l.contains("aot") || l.contains("cds")));
    try (Stream<Path> caches = Files.list(cacheDir)) {
      assertThat(caches.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".aot")))
          .as("one cache per command and jar").containsExactly(key);
    }
  }

  /** One {@code ./funnel demo} through the script, its stdout and stderr in files. */
  private record Run(Process process, Path out, Path err, String readyLine) {

    static Run demo(Path java, Path state, Path cacheDir, Path logBase, String javaOpts) throws Exception {
      Path out = Path.of(logBase + ".out.log");
      Path err = Path.of(logBase + ".err.log");
      ProcessBuilder builder = new ProcessBuilder(SCRIPT.toString(), "demo", "--state", state.toString(),
          "--public", "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
          .redirectOutput(out.toFile()).redirectError(err.toFile());
      Map<String, String> env = builder.environment();
      env.put("FUNNEL_JAR", FunnelProcess.JAR.toAbsolutePath().toString());
      env.put("FUNNEL_JAVA", java.toString());
      env.put("FUNNEL_AOT_CACHE", cacheDir.toString());
      env.put("FUNNEL_JAVA_OPTS", javaOpts);
      env.remove("FUNNEL_AUTHKEY");
      Process process = builder.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (System.nanoTime() < deadline && process.isAlive()) {
        Optional<String> ready = Files.readAllLines(out).stream().filter(l -> l.contains("ready")).findFirst();
        if (ready.isPresent()) {
          return new Run(process, out, err, ready.get());
        }
        Thread.sleep(100);
      }
      process.destroyForcibly();
      throw new AssertionError("./funnel demo not ready: " + Files.readString(out) + Files.readString(err));
    }

    void curlOnce() throws Exception {
      String curlLine = Files.readAllLines(out).stream().map(String::trim).filter(l -> l.startsWith("curl "))
          .findFirst().orElseThrow(() -> new AssertionError("no curl line after " + readyLine));
      Exec curl = Exec.run(Arrays.asList(curlLine.split("\\s+")));
      assertThat(curl.exit()).as(curlLine + "\n" + curl.output()).isZero();
      assertThat(curl.output()).contains("Hello from a private machine, through Funnel!");
    }

    /** SIGTERM, as Ctrl-C or systemd stops it; a recording run writes its cache before it exits. */
    void stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("./funnel demo still running 120 s after SIGTERM");
      }
    }
  }

  /** A JDK whose major version is 25 or later: {@code -Dfunnel.it.java25}, else one under /usr/lib/jvm. */
  static Optional<Path> java25() throws IOException {
    String named = System.getProperty("funnel.it.java25");
    if (named != null && !named.isBlank()) {
      return Optional.of(Path.of(named));
    }
    Path jvms = Path.of("/usr/lib/jvm");
    if (!Files.isDirectory(jvms)) {
      return Optional.empty();
    }
    try (Stream<Path> homes = Files.list(jvms)) {
      return homes.filter(home -> Files.isExecutable(home.resolve("bin/java")) && major(home) >= 25)
          .map(home -> home.resolve("bin/java")).sorted().findFirst();
    }
  }

  /** The major version in a JDK home's {@code release} file (JAVA_VERSION="25.0.1"), 0 if unknown. */
  private static int major(Path home) {
    try {
      for (String line : Files.readAllLines(home.resolve("release"))) {
        if (line.startsWith("JAVA_VERSION=")) {
          String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
          return Integer.parseInt(v.split("[.+-]")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return 0;
    }
    return 0;
  }
}
