package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class LoggingTest {

  private static LogRecord record(Level level, String logger, String message, Object... params) {
    LogRecord record = new LogRecord(level, message);
    record.setLoggerName(logger);
    record.setParameters(params);
    return record;
  }

  @Test
  void numbersAreWrittenWithoutGrouping() {
    assertThat(Logging.text(record(Level.INFO, "x", "public port {0}, epoch {1}, lease {2} ms", 8443,
        1796000000000L, 15000L))).isEqualTo("public port 8443, epoch 1796000000000, lease 15000 ms");
    assertThat(Logging.text(record(Level.INFO, "x", "port {0,number,#} in {1} ms", 5701, 3648)))
        .isEqualTo("port 5701 in 3648 ms");
    assertThat(Logging.text(record(Level.INFO, "x", "no parameters {0}"))).isEqualTo("no parameters {0}");
  }

  @Test
  void dropsOnlyTheKnownNoise() {
    assertThat(Logging.wanted(record(Level.WARNING, "io.micrometer.core.instrument.MeterRegistry",
        "This Gauge has been already registered (MeterId{name='vertx.eventbus.handlers', tags=[]}), the registration"
            + " will be ignored."))).isFalse();
    assertThat(Logging.wanted(record(Level.WARNING, "io.micrometer.core.instrument.MeterRegistry",
        "This Gauge has been already registered (MeterId{name='funnel.tunnels.active', tags=[]})"))).isTrue();
    assertThat(Logging.wanted(record(Level.WARNING, "com.hazelcast.cp.CPSubsystem",
        "[127.0.0.1]:5701 [funnel] [5.5.0] CP Subsystem is not enabled. CP data structures will operate in UNSAFE mode!")))
        .isFalse();
    assertThat(Logging.wanted(record(Level.WARNING, "com.hazelcast.cluster", "member left"))).isTrue();
  }

  @Test
  void jsonIsOneObjectPerLine() {
    Logging.configure(new Logging.Settings(false, true));
    try {
      LogRecord record = record(Level.INFO, "dev.funnel.x", "port {0}", 8443);
      record.setThrown(new IllegalStateException("boom"));
      String line = new Logging.LineFormatter().format(record);
      assertThat(line.strip()).doesNotContain("\n");
      io.vertx.core.json.JsonObject json = new io.vertx.core.json.JsonObject(line);
      assertThat(json.getString("level")).isEqualTo("INFO");
      assertThat(json.getString("logger")).isEqualTo("dev.funnel.x");
      assertThat(json.getString("message")).isEqualTo("port 8443");
      assertThat(json.getString("time")).isNotBlank();
      assertThat(json.containsKey("stack")).isFalse();
    } finally {
      Logging.configure(new Logging.Settings(false, false));
    }
  }
}
