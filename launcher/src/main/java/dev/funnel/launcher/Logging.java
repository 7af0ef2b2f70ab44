package dev.funnel.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.LogManager;

/** One log line per event on stderr: {@code time level logger: message}. */
final class Logging {

  private Logging() {
  }

  static void configure() {
    if (System.getProperty("java.util.logging.config.file") != null) {
      return;
    }
    String level = System.getenv().getOrDefault("FUNNEL_LOG_LEVEL", "INFO");
    String config = String.join("\n",
        "handlers=java.util.logging.ConsoleHandler",
        ".level=" + level,
        "java.util.logging.ConsoleHandler.level=ALL",
        "java.util.logging.SimpleFormatter.format=%1$tFT%1$tT.%1$tL %4$s %3$s: %5$s%6$s%n",
        "io.netty.level=WARNING",
        "com.hazelcast.level=WARNING",
        "io.vertx.level=WARNING",
        "");
    try (InputStream in = new java.io.ByteArrayInputStream(config.getBytes(StandardCharsets.UTF_8))) {
      LogManager.getLogManager().readConfiguration(in);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
