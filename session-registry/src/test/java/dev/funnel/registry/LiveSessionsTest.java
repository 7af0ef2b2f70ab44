package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.registry.LiveSessions.Live;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class LiveSessionsTest {

  private final LiveSessions sessions = new LiveSessions();

  private static Live live(String gateway, long epoch, long expiresAt) {
    return new Live("n1", "web.demo.funnel.test", gateway, epoch, List.of(443), expiresAt);
  }

  @Test
  void newSessionOnTheSameGatewayReplacesTheOld() {
    sessions.put(live("gw1", 1, 1000));
    List<Live> displaced = sessions.put(live("gw1", 2, 1000));
    assertThat(displaced).extracting(Live::epoch).containsExactly(1L);
    assertThat(sessions.live("n1", 0)).extracting(Live::epoch).containsExactly(2L);
  }

  @Test
  void twoGatewaysAreKeptNewestFirstAndAThirdDisplacesTheOldest() {
    sessions.put(live("gw1", 1, 1000));
    sessions.put(live("gw2", 2, 1000));
    assertThat(sessions.newestLive("n1", 0)).map(Live::gatewayId).contains("gw2");
    List<Live> displaced = sessions.put(live("gw3", 3, 1000));
    assertThat(displaced).extracting(Live::gatewayId).containsExactly("gw1");
    assertThat(sessions.live("n1", 0)).extracting(Live::gatewayId).containsExactly("gw3", "gw2");
  }

  @Test
  void newestLiveSkipsALapsedLease() {
    sessions.put(live("gw1", 1, 1000));
    sessions.put(live("gw2", 2, 500));
    assertThat(sessions.newestLive("n1", 600)).map(Live::gatewayId).contains("gw1");
    assertThat(sessions.newestLive("n1", 1000)).isEmpty();
  }

  @Test
  void renewNeedsTheExactLiveSession() {
    sessions.put(live("gw1", 7, 1000));
    assertThat(sessions.renew("n1", "gw1", 6, 0, 2000)).isEmpty();
    assertThat(sessions.renew("n1", "gw2", 7, 0, 2000)).isEmpty();
    assertThat(sessions.renew("n2", "gw1", 7, 0, 2000)).isEmpty();
    assertThat(sessions.renew("n1", "gw1", 7, 1000, 3000)).as("lapsed").isEmpty();
    assertThat(sessions.renew("n1", "gw1", 7, 999, 2000)).map(Live::expiresAt).contains(2000L);
    assertThat(sessions.newestLive("n1", 1500)).isPresent();
  }

  @Test
  void sweepRemovesOnlyLapsedSessions() {
    sessions.put(live("gw1", 1, 1000));
    sessions.put(live("gw2", 2, 2000));
    assertThat(sessions.sweep(1500)).extracting(Live::gatewayId).containsExactly("gw1");
    assertThat(sessions.size()).isEqualTo(1);
    assertThat(sessions.sweep(2000)).extracting(Live::gatewayId).containsExactly("gw2");
    assertThat(sessions.size()).isZero();
  }

  @Test
  void removeMatchesTheEpoch() {
    sessions.put(live("gw1", 4, 1000));
    assertThat(sessions.remove("n1", "gw1", 3)).isEmpty();
    assertThat(sessions.remove("n1", "gw1", 4)).isPresent();
    assertThat(sessions.size()).isZero();
  }
}
