package dev.funnel.test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a real client (curl, openssl) to completion with a bound on time; keeps its output. */
record Exec(int exit, String output) {

  static Exec run(List<String> command) throws Exception {
    return run(command, "");
  }

  static Exec run(List<String> command, String stdin) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    process.getOutputStream().close();
    byte[] out = process.getInputStream().readAllBytes();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IllegalStateException(String.join(" ", command) + " did not finish");
    }
    return new Exec(process.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
