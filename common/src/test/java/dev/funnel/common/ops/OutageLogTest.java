package dev.funnel.common.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OutageLogTest {

  private static final String NAME = OutageLogTest.class.getName();

  private final AtomicLong clock = new AtomicLong(1_000);
  private CapturedLog captured;
  private List<String> lines;

  @BeforeEach
  void capture() {
    captured = CapturedLog.of(OutageLogTest.class);
    lines = captured.lines();
  }

  @AfterEach
  void release() {
    captured.close();
  }

  private OutageLog outages() {
    return new OutageLog(System.getLogger(NAME), "port 443: backend http://127.0.0.1:8080", "answering 502",
        clock::get);
  }

  @Test
  void anOutageIsOneWarningAndItsEndOneInfoHoweverManyClientsHitIt() {
    OutageLog log = outages();
    log.answered();
    assertThat(lines).isEmpty();
    for (int i = 0; i < 500; i++) {
      log.failed("Connection refused");
      clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(10));   // 5 s of failures
    }
    assertThat(log.down()).isTrue();
    log.answered();
    log.answered();
    assertThat(lines).containsExactly(
        "WARNING port 443: backend http://127.0.0.1:8080 is not answering: Connection refused; answering 502 until it"
            + " does",
        "INFO port 443: backend http://127.0.0.1:8080 answers again (500 failures over 5 s)");
    assertThat(log.down()).isFalse();
  }

  @Test
  void aLongOutageIsRecalledOnceAMinuteWhileClientsStillHitIt() {
    OutageLog log = outages();
    for (int second = 0; second < 150; second++) {
      log.failed("Connection refused");
      clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
    }
    assertThat(lines).hasSize(3);
    assertThat(lines.get(1)).isEqualTo("WARNING port 443: backend http://127.0.0.1:8080 is still not answering:"
        + " Connection refused (61 failures since 60 s ago; answering 502)");
    assertThat(lines.get(2)).contains("(121 failures since 2 min ago; answering 502)").startsWith("WARNING");
  }

  @Test
  void aTargetThatFlapsOnEveryRequestStaysWithinTheBudget() {
    OutageLog log = outages();
    for (int i = 0; i < 1_000; i++) {
      log.failed("Connection refused");
      log.answered();
    }
    assertThat(lines).hasSize(LogLimit.DEFAULT_PER_SECOND);
    clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
    log.failed("Connection refused");
    assertThat(lines.get(lines.size() - 1)).endsWith("(1990 more outage lines not logged)");
  }

  @Test
  void theReasonDropsTheAddressNettyAppends() {
    assertThat(OutageLog.reason(new ConnectException("Connection refused: /127.0.0.1:18999")))
        .isEqualTo("Connection refused");
    assertThat(OutageLog.reason(new ConnectException("Connection refused: localhost/127.0.0.1:80")))
        .isEqualTo("Connection refused");
    assertThat(OutageLog.reason(new ConnectException("Connection refused: /[0:0:0:0:0:0:0:1]:8080")))
        .isEqualTo("Connection refused");
    assertThat(OutageLog.reason(new ConnectException("connection timed out after 2000 ms")))
        .isEqualTo("connection timed out after 2000 ms");
    assertThat(OutageLog.reason(new ConnectException())).isEqualTo("ConnectException");
  }
}
