package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
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
    assertThat(Logging.wanted(record(Level.SEVERE, "io.vertx.core.net.impl.ConnectionBase", "Connection reset")))
        .isFalse();
    assertThat(Logging.wanted(record(Level.SEVERE, "io.vertx.core.net.impl.ConnectionBase",
        "Connection reset by peer"))).isFalse();
    assertThat(Logging.wanted(record(Level.SEVERE, "io.vertx.core.net.impl.ConnectionBase", "Broken pipe")))
        .as("other failures of such a connection still show").isTrue();
  }

  @Test
  void aPartitionTableFromAMemberNotListedYetIsLeftOutOnlyWhileTheProcessStarts() {
    // As OpsIT once saw it, from a frontend that had just joined a registry and a gateway.
    LogRecord notMember = record(Level.WARNING, "com.hazelcast.internal.partition.operation.PartitionStateOperation",
        "[127.0.0.1]:45581 [funnel] [5.3.8] com.hazelcast.spi.exception.CallerNotMemberException: Not Member! this:"
            + " [127.0.0.1]:45581, caller: [127.0.0.1]:41571, partitionId: -1, operation:"
            + " com.hazelcast.internal.partition.operation.PartitionStateOperation, service: hz:core:partitionService");
    assertThat(Logging.wanted(notMember, 3_000)).isFalse();
    assertThat(Logging.wanted(notMember, Logging.JOIN_QUIET_MILLIS)).as("a minute in: shown").isTrue();
    assertThat(Logging.wanted(record(Level.WARNING, "com.hazelcast.map.impl.operation.PutOperation",
        "CallerNotMemberException: Not Member!"), 3_000)).as("another service's: shown").isTrue();
    assertThat(Logging.wanted(record(Level.WARNING, "com.hazelcast.internal.partition.InternalPartitionService",
        "partition table lost"), 3_000)).isTrue();
    // As OpsIT saw it on 2026-12-04, from the registry (the master) while the fourth member joined.
    LogRecord migration = record(Level.WARNING, "com.hazelcast.internal.partition.impl.MigrationManager",
        "[127.0.0.1]:41035 [funnel] [5.3.8] Migration failed: MigrationInfo{uuid=561abebb, partitionId=5,"
            + " source=[127.0.0.1]:33107, destination=[127.0.0.1]:33985, status=ACTIVE}");
    assertThat(Logging.wanted(migration, 8_000)).isFalse();
    assertThat(Logging.wanted(migration, Logging.JOIN_QUIET_MILLIS)).as("a minute in: shown").isTrue();
    // As CI saw it on 2026-12-05, from a gateway 5 s after it joined, while the fourth member joined.
    LogRecord mismatch = record(Level.WARNING, "com.hazelcast.internal.partition.operation.MigrationRequestOperation",
        "[127.0.0.1]:37893 [funnel] [5.3.8] Failure while executing MigrationInfo{uuid=b5e0b79e, partitionId=5,"
            + " source=[127.0.0.1]:37893, destination=[127.0.0.1]:40993, status=ACTIVE}");
    mismatch.setThrown(new com.hazelcast.internal.partition.PartitionStateVersionMismatchException(0, 5));
    assertThat(Logging.wanted(mismatch, 5_000)).isFalse();
    assertThat(Logging.wanted(mismatch, Logging.JOIN_QUIET_MILLIS)).as("a minute in: shown").isTrue();
    LogRecord otherFailure = record(Level.WARNING, "com.hazelcast.internal.partition.operation.MigrationRequestOperation",
        "[127.0.0.1]:37893 [funnel] [5.3.8] Failure while executing MigrationInfo{uuid=b5e0b79e, partitionId=5}");
    otherFailure.setThrown(new IllegalStateException("disk full"));
    assertThat(Logging.wanted(otherFailure, 5_000)).as("another cause: shown").isTrue();
  }

  @Test
  void migrationsThatBeginBeforeAMemberHasStartedAreLeftOutOnlyWhileTheProcessStarts() {
    // As five clustered ITs saw them on 2026-12-07: on the member still starting, ...
    LogRecord early = record(Level.WARNING, "com.hazelcast.internal.partition.operation.MigrationOperation",
        "[127.0.0.1]:25675 [funnel] [5.3.8] Migration operation is received before startup is completed. Sender:"
            + " [127.0.0.1]:22070");
    // ... on the source, ...
    LogRecord source = record(Level.WARNING, "com.hazelcast.internal.partition.operation.MigrationRequestOperation",
        "[127.0.0.1]:22070 [funnel] [5.3.8] Failure while executing MigrationInfo{uuid=739eb3d8, partitionId=0,"
            + " source=[127.0.0.1]:22070, destination=[127.0.0.1]:25675, status=ACTIVE}");
    source.setThrown(new IllegalStateException("Migration operation is received before startup is completed."
        + " Caller: [127.0.0.1]:22070"));
    // ... and on the master, whose source did not list the destination yet.
    LogRecord master = record(Level.WARNING, "com.hazelcast.internal.partition.impl.MigrationManager",
        "[127.0.0.1]:20022 [funnel] [5.3.8] Failed migration from Member [127.0.0.1]:22559 for MigrationInfo{uuid=fae0f920,"
            + " partitionId=0, source=[127.0.0.1]:22559, destination=[127.0.0.1]:27498, status=ACTIVE}");
    master.setThrown(new com.hazelcast.spi.exception.TargetNotMemberException("Destination of migration could not be found!"));
    for (LogRecord race : List.of(early, source, master)) {
      assertThat(Logging.wanted(race, 5_000)).as(race.getMessage()).isFalse();
      assertThat(Logging.wanted(race, Logging.JOIN_QUIET_MILLIS)).as("a minute in: shown").isTrue();
    }
    LogRecord otherMaster = record(Level.WARNING, "com.hazelcast.internal.partition.impl.MigrationManager",
        "[127.0.0.1]:20022 [funnel] [5.3.8] Failed migration from Member [127.0.0.1]:22559 for MigrationInfo{uuid=fae0f920}");
    otherMaster.setThrown(new IllegalStateException("disk full"));
    assertThat(Logging.wanted(otherMaster, 5_000)).as("another cause: shown").isTrue();
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
