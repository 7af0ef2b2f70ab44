package dev.funnel.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A process the runner started: stdout is copied to {@code NAME.out.log} (and watched for the
 * ready line), stderr goes to {@code NAME.err.log}. Closing it sends SIGTERM, then SIGKILL after 10 s.
 */
final class Child implements AutoCloseable {

  final String name;
  private final Process process;
  private final Path out;
  private final CompletableFuture<String> ready = new CompletableFuture<>();

  private Child(String name, Process process, Path out) {
    this.name = name;
    this.process = process;
    this.out = out;
  }

  /** Starts {@code command}; with a {@code readyPattern}, waits (bounded) for the first stdout line matching it. */
  static Child start(String name, Path logs, Map<String, String> env, List<String> command, Pattern readyPattern,
                     long timeoutMillis) throws IOException {
    Files.createDirectories(logs);
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(logs.resolve(name + ".err.log").toFile());
    builder.environment().putAll(env);
    Child child = new Child(name, builder.start(), logs.resolve(name + ".out.log"));
    Thread pump = new Thread(() -> child.pump(readyPattern), name + "-stdout");
    pump.setDaemon(true);
    pump.start();
    if (readyPattern != null) {
      try {
        child.ready.get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        child.close();
        throw new IOException(name + " did not print a ready line within " + timeoutMillis + " ms; see "
            + logs.resolve(name + ".err.log") + " (" + e + ")");
      }
    }
    return child;
  }

  private void pump(Pattern readyPattern) {
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        Files.writeString(out, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        if (readyPattern != null && !ready.isDone() && readyPattern.matcher(line).find()) {
          ready.complete(line);
        }
      }
    } catch (IOException e) {
      // the process ended
    } finally {
      ready.completeExceptionally(new IOException(name + " exited with " + exitCode()));
    }
  }

  private String exitCode() {
    try {
      return process.waitFor(2, TimeUnit.SECONDS) ? String.valueOf(process.exitValue()) : "(still running)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Group 1 of {@code regex} in the ready line. */
  String fromReadyLine(String regex) {
    String line = ready.getNow(null);
    Matcher m = Pattern.compile(regex).matcher(line == null ? "" : line);
    if (!m.find()) {
      throw new IllegalStateException(name + ": no " + regex + " in its ready line: " + line);
    }
    return m.group(1);
  }

  OutputStream stdin() {
    return process.getOutputStream();
  }

  @Override
  public void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** Runs a short command to its end (bounded); returns its stdout, or throws with its output. */
  static String run(List<String> command, Map<String, String> env, long timeoutMillis) throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    Process p = builder.start();
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
      try {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    try {
      if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + ": no exit within " + timeoutMillis + " ms");
      }
      String text = output.get(5, TimeUnit.SECONDS);
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + text.trim());
      }
      return text;
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(String.join(" ", command) + ": " + e, e);
    }
  }

  /** A port free on 127.0.0.1 right now (for tools that cannot bind :0 and report it). */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Waits (bounded) until something accepts TCP connections on 127.0.0.1:{@code port}. */
  static void awaitListening(int port, long timeoutMillis) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (true) {
      try (Socket ignored = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw new IOException("nothing listens on 127.0.0.1:" + port + " after " + timeoutMillis + " ms", e);
        }
        Thread.sleep(50);
      }
    }
  }
}
