package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link LossReports}: sent through every other session up, never to the lost one's gateway, bounded in count and age. */
class LossReportsTest {

  /** A session up on {@code gatewayId}, recording what it was told. */
  private record Up(String gatewayId, HostPort server, List<SessionLost> told) implements LossReports.Witness {
    Up(String gatewayId) {
      this(gatewayId, new HostPort(gatewayId + ".example", 7000), new ArrayList<>());
    }

    @Override
    public void reportLost(SessionLost lost) {
      told.add(lost);
    }
  }

  private static SessionLost lost(String gatewayId, long epoch) {
    return new SessionLost(gatewayId, epoch, "connection lost: reset");
  }

  @Test
  void aLossGoesThroughEverySessionUpButItsOwnGateway() {
    LossReports reports = new LossReports();
    Up own = new Up("gw-1");
    Up other = new Up("gw-2");
    Up third = new Up("gw-3");
    reports.add(lost("gw-1", 4), 0);
    reports.reportThrough(List.of(own, other, third), 0);
    assertThat(own.told()).isEmpty();
    assertThat(other.told()).containsExactly(lost("gw-1", 4));
    assertThat(third.told()).containsExactly(lost("gw-1", 4));
    assertThat(reports.waiting()).isZero();
  }

  @Test
  void withNoOtherSessionUpTheLossWaitsForTheNext() {
    LossReports reports = new LossReports();
    Up own = new Up("gw-1");
    reports.add(lost("gw-1", 4), 0);
    reports.reportThrough(List.of(), 0);
    reports.reportThrough(List.of(own), 1);
    assertThat(own.told()).isEmpty();
    assertThat(reports.waiting()).isEqualTo(1);
    Up next = new Up("gw-2");
    reports.reportThrough(List.of(own, next), 2);
    assertThat(next.told()).containsExactly(lost("gw-1", 4));
    assertThat(reports.waiting()).isZero();
    reports.reportThrough(List.of(next), 3);
    assertThat(next.told()).hasSize(1);
  }

  @Test
  void theOldestAreDroppedPastTheBound() {
    LossReports reports = new LossReports();
    for (int i = 1; i <= LossReports.MAX_LOSSES_TO_REPORT + 3; i++) {
      reports.add(lost("gw-1", i), i);
    }
    assertThat(reports.waiting()).isEqualTo(LossReports.MAX_LOSSES_TO_REPORT);
    Up other = new Up("gw-2");
    reports.reportThrough(List.of(other), LossReports.MAX_LOSSES_TO_REPORT + 3);
    assertThat(other.told()).extracting(SessionLost::epoch).containsExactly(4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L);
  }

  @Test
  void aLossNotReportedInTimeIsDropped() {
    LossReports reports = new LossReports();
    long maxAge = TimeUnit.MILLISECONDS.toNanos(LossReports.LOSS_REPORT_MAX_AGE_MILLIS);
    reports.add(lost("gw-1", 1), 0);
    reports.add(lost("gw-1", 2), 10);
    Up other = new Up("gw-2");
    reports.reportThrough(List.of(other), maxAge + 5);
    assertThat(other.told()).containsExactly(lost("gw-1", 2));
    assertThat(reports.waiting()).isZero();
  }
}
