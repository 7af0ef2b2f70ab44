package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real {@code funnel} process (the shaded jar, as {@code ./funnel} runs it). Its stdout and stderr
 * are kept (and copied to a log file) so tests can wait for the {@code ready} line and read it.
 */
final class FunnelProcess implements AutoCloseable {

  static final Path JAR = Path.of(System.getProperty("funnel.jar", "../launcher/target/funnel.jar"));
  static final String JAVA = ProcessHandle.current().info().command().orElse("java");

  private final String name;
  private final Process process;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final CompletableFuture<String> ready = new CompletableFuture<>();

  private FunnelProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    pump(process.getInputStream(), log, true);
    pump(process.getErrorStream(), log, false);
    process.onExit().thenRun(() -> ready.completeExceptionally(
        new IllegalStateException(name + " exited with " + process.exitValue() + " before ready:\n" + output())));
  }

  /** Starts {@code funnel ARGS…} and waits for its line containing "ready". */
  static FunnelProcess start(String name, Path logDir, List<String> jvmFlags, String... args) throws Exception {
    FunnelProcess p = spawn(name, logDir, jvmFlags, args);
    p.awaitReady(Duration.ofSeconds(90));
    return p;
  }

  static FunnelProcess spawn(String name, Path logDir, List<String> jvmFlags, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(JAVA);
    command.addAll(jvmFlags);
    command.add("-jar");
    command.add(JAR.toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> env = builder.environment();
    env.remove("FUNNEL_AUTHKEY");
    Files.createDirectories(logDir);
    return new FunnelProcess(name, builder.start(), logDir.resolve(name + ".log"));
  }

  /** Runs {@code funnel ARGS…} to completion (e.g. the admin client); returns exit code and output. */
  static Result run(Path logDir, String... args) throws Exception {
    FunnelProcess p = spawn("cli-" + System.nanoTime(), logDir, List.of(), args);
    if (!p.process.waitFor(60, TimeUnit.SECONDS)) {
      p.close();
      throw new IllegalStateException("funnel " + String.join(" ", args) + " did not finish");
    }
    long exitedAt = System.nanoTime();
    p.process.getInputStream().close();
    Thread.sleep(50);
    return new Result(p.process.exitValue(), p.stdout(), p.output(), exitedAt);
  }

  /** Runs {@code funnel admin --state STATE ARGS…} and requires exit 0 (its output in the failure). */
  static Result admin(Path logDir, Path state, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("admin", "--state", state.toString()));
    all.addAll(List.of(args));
    Result result = run(logDir, all.toArray(String[]::new));
    assertThat(result.exit()).as(result.all()).isZero();
    return result;
  }

  /** Runs {@code funnel node serve ARGS… --state NODE_STATE} (the running node's control); any exit. */
  static Result serve(Path logDir, Path nodeState, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("node", "serve"));
    all.addAll(List.of(args));
    all.addAll(List.of("--state", nodeState.toString()));
    return run(logDir, all.toArray(String[]::new));
  }

  /** {@code exitedAtNanos}: {@link System#nanoTime()} when the process was seen to have exited. */
  record Result(int exit, List<String> stdout, String all, long exitedAtNanos) {
    String lastLine() {
      return stdout.isEmpty() ? "" : stdout.get(stdout.size() - 1);
    }
  }

  String awaitReady(Duration timeout) throws Exception {
    try {
      return ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(name + " not ready within " + timeout + ":\n" + output());
    }
  }

  /** The first group of {@code pattern} in the ready line. */
  String fromReadyLine(String pattern) throws Exception {
    Matcher m = Pattern.compile(pattern).matcher(ready.get());
    if (!m.find()) {
      throw new IllegalStateException("'" + pattern + "' not in the ready line: " + ready.get());
    }
    return m.group(1);
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  String output() {
    return String.join("\n", lines);
  }

  private final List<String> stdoutLines = new CopyOnWriteArrayList<>();

  List<String> stdout() {
    return List.copyOf(stdoutLines);
  }

  /** Sends SIGKILL and waits for the process to be gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(20, TimeUnit.SECONDS);
  }

  /**
   * Sends SIGTERM and waits up to {@code timeout}; the exit code, or empty if still running. Through
   * the process handle: {@link Process#destroy()} would also close our end of its stdout and stderr,
   * losing what it prints while it stops.
   */
  java.util.OptionalInt terminate(Duration timeout) throws InterruptedException {
    process.toHandle().destroy();
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)
        ? java.util.OptionalInt.of(process.exitValue()) : java.util.OptionalInt.empty();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private void pump(java.io.InputStream in, Path log, boolean stdout) {
    Thread t = new Thread(() -> {
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          lines.add(line);
          if (stdout) {
            stdoutLines.add(line);
            if (line.contains("ready")) {
              ready.complete(line);
            }
          }
          synchronized (FunnelProcess.class) {
            Files.writeString(log, "[" + name + "] " + line + "\n", StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
          }
        }
      } catch (IOException e) {
        // The process ended.
      }
    }, name + (stdout ? "-out" : "-err"));
    t.setDaemon(true);
    t.start();
  }
}
