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

  /**
   * JVM flags every test process gets ahead of its test's own (a test's flag wins): test processes
   * live seconds, so C1 alone (about 40% less CPU to start and answer the first requests), and the
   * classes of a started {@code funnel demo} mapped from an AppCDS archive ({@link #classArchive}). A test whose process moves much data through a
   * JIT-heavy path can put {@code -XX:TieredStopAtLevel=4} back in its own flags.
   * {@code -Dfunnel.it.fastJvm=false} turns all of this off.
   */
  static final boolean FAST_JVM = Boolean.parseBoolean(System.getProperty("funnel.it.fastJvm", "true"));

  private static final Path CLASS_ARCHIVE = Path.of("target", "funnel-it-classes.jsa");
  private static final Object ARCHIVE_LOCK = new Object();
  private static Boolean classArchiveReady;

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
    List<String> flags = new ArrayList<>(defaultJvmFlags());
    flags.addAll(jvmFlags);
    return spawnWith(flags, name, logDir, args);
  }

  private static FunnelProcess spawnWith(List<String> jvmFlags, String name, Path logDir, String... args)
      throws IOException {
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

  static List<String> defaultJvmFlags() {
    if (!FAST_JVM) {
      return List.of();
    }
    List<String> flags = new ArrayList<>(List.of("-XX:TieredStopAtLevel=1"));
    if (classArchive()) {
      // -Xshare:auto (the default): a process that cannot map the archive runs without it, silently.
      flags.addAll(List.of("-XX:SharedArchiveFile=" + CLASS_ARCHIVE.toAbsolutePath(), "-Xlog:cds=off",
          "-Xlog:cds+dynamic=off"));
    }
    return flags;
  }

  /**
   * Makes (once per test JVM, and only when the jar is newer than it) a dynamic AppCDS archive of the
   * classes a {@code funnel demo} loads while it starts, serves one request and stops: registry,
   * gateway, frontend, node, terminator, Vert.x, Netty. Every later test process maps those classes
   * instead of loading and verifying them from the jar. False (and no archive is used) if it fails.
   */
  static boolean classArchive() {
    synchronized (ARCHIVE_LOCK) {   // not FunnelProcess.class: the output pumps write the logs under that
      if (classArchiveReady == null) {
        classArchiveReady = makeClassArchive();
      }
      return classArchiveReady;
    }
  }

  private static boolean makeClassArchive() {
    boolean made = false;
    try {
      if (Files.exists(CLASS_ARCHIVE)
          && Files.getLastModifiedTime(CLASS_ARCHIVE).compareTo(Files.getLastModifiedTime(JAR)) > 0) {
        return true;
      }
      Files.deleteIfExists(CLASS_ARCHIVE);
      Path dir = TempDirs.create("funnel-cds");
      Path logs = Path.of("target", "e2e-logs", "class-archive");
      long started = System.nanoTime();
      FunnelProcess demo = spawnWith(List.of("-XX:TieredStopAtLevel=1",
              "-XX:ArchiveClassesAtExit=" + CLASS_ARCHIVE.toAbsolutePath(), "-Xlog:cds=off", "-Xlog:cds+dynamic=off"),
          "demo", logs, "demo", "--state", dir.resolve("state").toString(), "--public", "127.0.0.1:0",
          "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
      try {
        demo.awaitReady(Duration.ofSeconds(90));
        String curl = demo.stdout().stream().map(String::trim).filter(l -> l.startsWith("curl ")).findFirst().orElse("");
        if (!curl.isEmpty()) {
          Exec.run(List.of(curl.split("\\s+")));
        }
      } finally {
        demo.terminate(Duration.ofSeconds(60));
        demo.close();
      }
      made = Files.exists(CLASS_ARCHIVE) && Files.size(CLASS_ARCHIVE) > 0;
      System.out.println("[funnel-it] class archive " + CLASS_ARCHIVE + (made ? " made" : " not made")
          + " in " + (System.nanoTime() - started) / 1_000_000 + " ms");
    } catch (Exception e) {
      System.out.println("[funnel-it] no class archive, test processes start without one: " + e);
    }
    return made;
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

  /**
   * The port of this process's ops endpoint (metrics, health), from its log line: a node logs it
   * before its session is up, so before its ready line. Waits up to 60 s.
   */
  int opsPort() throws Exception {
    Pattern ops = Pattern.compile("ops endpoint on http://127\\.0\\.0\\.1:(\\d+)");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      Matcher m = ops.matcher(output());
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      if (!isAlive()) {
        break;
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("no ops endpoint line from " + name + ":\n" + output());
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

  /** Waits up to {@code timeout} for the process to exit on its own; the exit code, or empty if still running. */
  java.util.OptionalInt exitWithin(Duration timeout) throws InterruptedException {
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
