package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.MemberStats;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClusterStatsTest {

  static MemberStats frontend(String id, long open, long total, Map<String, Long> refusals, Integer... ports) {
    return new MemberStats(id, "frontend", true, List.of(ports), open, total, refusals, 0);
  }

  @Test
  void ratesAndRefusalsAreDifferencesOverTheirWindows() {
    ClusterStats stats = new ClusterStats();
    long t0 = 1_000_000;
    stats.heard(frontend("fe-1", 0, 0, Map.of("no_route", 1L), 443), t0);                 // dropped: past the history
    stats.heard(frontend("fe-1", 0, 0, Map.of("no_route", 5L), 443), t0 + 2_000);         // before the minute: baseline
    stats.heard(frontend("fe-1", 1, 10, Map.of("no_route", 7L), 443), t0 + 55_000);
    stats.heard(frontend("fe-1", 2, 30, Map.of("no_route", 9L, "funnel_off", 1L), 443), t0 + 61_000);
    stats.heard(frontend("fe-1", 3, 130, Map.of("no_route", 10L, "funnel_off", 1L), 443), t0 + 66_000);
    stats.heard(new MemberStats("gw-1", "gateway", true, List.of(), 3, 130, Map.of("offer_timeout", 2L), 1), t0 + 66_000);

    ClusterStats.Summary s = stats.summary(t0 + 66_000);
    assertThat(s.tunnelsOpen()).as("frontends' count, not frontends' plus gateways'").isEqualTo(3);
    // rate: baseline is the newest sample at or before now-10s (t0+55s): (130-10)/11s
    assertThat(s.newTunnelsPerSecond()).isCloseTo(120 / 11.0, org.assertj.core.data.Offset.offset(0.01));
    // refusals: baseline is the newest sample at or before now-60s (t0+2s): 10-5 and 1-0
    assertThat(s.refusalsLastMinute()).containsEntry("no_route", 5L).containsEntry("funnel_off", 1L)
        .doesNotContainKey("offer_timeout");
    assertThat(s.members()).extracting(ClusterStats.Member::id).containsExactly("fe-1", "gw-1");
    assertThat(stats.listenedPorts(t0 + 66_000)).containsExactly(443);
  }

  @Test
  void aSilentMemberIsNotLiveAndItsPortsAreNotListened() {
    ClusterStats stats = new ClusterStats();
    assertThat(stats.listenedPorts(0)).as("nothing heard: unknown").isNull();
    stats.heard(frontend("fe-1", 0, 0, Map.of(), 443, 8443), 1_000);
    assertThat(stats.listenedPorts(2_000)).containsExactly(443, 8443);
    long later = 1_000 + ClusterStats.STALE_MILLIS + 1;
    assertThat(stats.listenedPorts(later)).as("known, but nobody listens now").isEmpty();
    ClusterStats.Summary s = stats.summary(later);
    assertThat(s.members()).singleElement().satisfies(m -> {
      assertThat(m.live()).isFalse();
      assertThat(m.ready()).isFalse();
    });
  }

  @Test
  void aSingleSampleClaimsNoRateAndNoRefusals() {
    ClusterStats stats = new ClusterStats();
    stats.heard(frontend("fe-1", 2, 500, Map.of("no_route", 40L), 443), 10_000);
    ClusterStats.Summary s = stats.summary(10_500);
    assertThat(s.newTunnelsPerSecond()).isZero();
    assertThat(s.refusalsLastMinute()).isEmpty();
    assertThat(s.tunnelsOpen()).isEqualTo(2);
  }

  @Test
  void aRestartedMemberCountsFromItsRestart() {
    ClusterStats stats = new ClusterStats();
    stats.heard(frontend("fe-1", 0, 100, Map.of("no_route", 50L), 443), 10_000);
    stats.heard(frontend("fe-1", 0, 3, Map.of("no_route", 2L), 443), 12_000);
    assertThat(stats.summary(12_000).refusalsLastMinute()).containsEntry("no_route", 2L);
  }
}
