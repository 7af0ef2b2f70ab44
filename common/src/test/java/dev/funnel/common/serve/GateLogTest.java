package dev.funnel.common.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.ops.CapturedLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GateLogTest {

  private CapturedLog captured;
  private List<String> lines;

  @BeforeEach
  void capture() {
    captured = CapturedLog.of(GateLog.class);
    lines = captured.lines();
  }

  @AfterEach
  void release() {
    captured.close();
  }

  @Test
  void talliesEveryDecisionAndLogsEachRefusalOnce() {
    GateLog log = new GateLog("port 443 path /hooks");
    log.allowed("cidr");
    log.allowed("cidr");
    log.refused("cidr", "denied", "127.0.0.2", "in --deny-cidr 127.0.0.2/32");
    log.refused("verify", "bad_signature", "203.0.113.7", "X-Hub-Signature-256 does not match");
    assertThat(log.tallies()).isEqualTo(Map.of("cidr/allowed", 2L, "cidr/denied", 1L, "verify/bad_signature", 1L));
    assertThat(lines).containsExactly(
        "INFO gate: port 443 path /hooks: cidr refused 127.0.0.2 (denied): in --deny-cidr 127.0.0.2/32; rejecting",
        "INFO gate: port 443 path /hooks: verify refused 203.0.113.7 (bad_signature): "
            + "X-Hub-Signature-256 does not match; rejecting");
  }

  @Test
  void aFloodOfRefusalsIsTalliedWholeButLoggedAtABoundedRate() {
    AtomicLong clock = new AtomicLong();
    GateLog log = new GateLog("port 443 path /", clock::get);
    for (int i = 0; i < 1_000; i++) {
      log.refused("rate-limit", "limited", "192.0.2.1", "over 20/s");
    }
    assertThat(log.tallies()).containsEntry("rate-limit/limited", 1_000L);
    assertThat(lines).hasSize(GateLog.LOG_LINES_PER_SECOND);
    clock.addAndGet(1_000_000_000L);
    log.refused("rate-limit", "limited", "192.0.2.1", "over 20/s");
    assertThat(lines).hasSize(GateLog.LOG_LINES_PER_SECOND + 1);
    assertThat(lines.get(lines.size() - 1)).endsWith("(990 more refusals not logged)");
  }

  @Test
  void theMeterHasOnlyBoundedLabels() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    GateMeter.counter(registry, "cidr", "denied").increment();
    GateMeter.counter(registry, "cidr", "denied").increment();
    assertThat(registry.get(GateMeter.NAME).tag("rule", "cidr").tag("outcome", "denied").counter().count())
        .isEqualTo(2);
    registry.getMeters().forEach(m -> assertThat(m.getId().getTags()).allSatisfy(t ->
        assertThat(t.getKey()).isIn("rule", "outcome")));
  }
}
