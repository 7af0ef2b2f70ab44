package dev.funnel.common.gate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GateDecisionsTest {

  private final List<String> lines = new ArrayList<>();
  private final Logger jul = Logger.getLogger(GateDecisions.class.getName());
  private final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      synchronized (lines) {
        lines.add(record.getLevel() + " " + record.getMessage());
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeEach
  void capture() {
    jul.addHandler(capture);
  }

  @AfterEach
  void release() {
    jul.removeHandler(capture);
  }

  @Test
  void countsWithBoundedLabelsAndLogsEachRefusalOnce() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    GateDecisions decisions = new GateDecisions(registry, "port 443 path /hooks/")
        .register(Rule.WEBHOOK, Outcome.BAD_SIGNATURE);
    assertThat(count(registry, "webhook", "bad_signature")).isZero();

    decisions.allowed(Rule.CIDR);
    decisions.allowed(Rule.CIDR);
    decisions.refused(Rule.CIDR, Outcome.DENIED, "127.0.0.2", "in --deny-cidr 127.0.0.2/32");
    decisions.refused(Rule.WEBHOOK, Outcome.BAD_SIGNATURE, "203.0.113.7", "X-Hub-Signature-256 does not match");

    assertThat(count(registry, "cidr", "allowed")).isEqualTo(2);
    assertThat(count(registry, "cidr", "denied")).isEqualTo(1);
    assertThat(count(registry, "webhook", "bad_signature")).isEqualTo(1);
    assertThat(decisions.tallies()).isEqualTo(Map.of("cidr/allowed", 2L, "cidr/denied", 1L,
        "webhook/bad_signature", 1L));
    // labels: only rule and outcome, never an address
    registry.getMeters().forEach(m -> assertThat(m.getId().getTags()).allSatisfy(t ->
        assertThat(t.getKey()).isIn("rule", "outcome")));
    assertThat(lines).containsExactly(
        "INFO gate: port 443 path /hooks/: cidr refused 127.0.0.2 (denied): in --deny-cidr 127.0.0.2/32; rejecting",
        "INFO gate: port 443 path /hooks/: webhook refused 203.0.113.7 (bad_signature): "
            + "X-Hub-Signature-256 does not match; rejecting");
  }

  @Test
  void aFloodOfRefusalsIsCountedWholeButLoggedAtABoundedRate() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicLong clock = new AtomicLong();
    GateDecisions decisions = new GateDecisions(registry, "port 443 path /", clock::get);
    for (int i = 0; i < 1_000; i++) {
      decisions.refused(Rule.RATE, Outcome.LIMITED, "192.0.2.1", "over 20/s");
    }
    assertThat(count(registry, "rate", "limited")).isEqualTo(1_000);
    assertThat(lines).hasSize(GateDecisions.LOG_LINES_PER_SECOND);
    clock.addAndGet(1_000_000_000L);
    decisions.refused(Rule.RATE, Outcome.LIMITED, "192.0.2.1", "over 20/s");
    assertThat(lines).hasSize(GateDecisions.LOG_LINES_PER_SECOND + 1);
    assertThat(lines.get(lines.size() - 1)).endsWith("(990 more refusals not logged)");
  }

  private static double count(SimpleMeterRegistry registry, String rule, String outcome) {
    Counter c = registry.find(GateDecisions.METER).tag("rule", rule).tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }
}
