package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.SessionLossRule.Accepted;
import dev.funnel.registry.SessionLossRule.Rejected;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which session-loss reports the registry accepts: only a node's own live sessions, through another live one. */
class SessionLossRuleTest {

  /** Node n1 has live sessions on gw1 (epoch 10) and gw2 (epoch 20). */
  private static final List<Live> N1 = List.of(
      new Live("n1", "web.demo.funnel.test", "gw2", 20, List.of(443), Long.MAX_VALUE),
      new Live("n1", "web.demo.funnel.test", "gw1", 10, List.of(443), Long.MAX_VALUE));

  @Test
  void aNodesOwnSessionReportedThroughItsOtherLiveSessionIsAccepted() {
    SessionLossRule.Verdict verdict = SessionLossRule.judge(
        new SessionLossReport("n1", "gw1", 10, "gw2", 20, "connection lost"), N1);
    assertThat(verdict).isInstanceOf(Accepted.class);
    assertThat(((Accepted) verdict).lost()).extracting(Live::gatewayId, Live::epoch).containsExactly("gw1", 10L);
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        Arguments.of("no node", new SessionLossReport(null, "gw1", 10, "gw2", 20, ""), N1,
            LoginFailure.BAD_REQUEST, false),
        Arguments.of("no lost gateway", new SessionLossReport("n1", "", 10, "gw2", 20, ""), N1,
            LoginFailure.BAD_REQUEST, false),
        Arguments.of("no reporting gateway", new SessionLossReport("n1", "gw1", 10, null, 20, ""), N1,
            LoginFailure.BAD_REQUEST, false),
        Arguments.of("no lost epoch", new SessionLossReport("n1", "gw1", 0, "gw2", 20, ""), N1,
            LoginFailure.BAD_REQUEST, false),
        Arguments.of("no reporting epoch", new SessionLossReport("n1", "gw1", 10, "gw2", 0, ""), N1,
            LoginFailure.BAD_REQUEST, false),
        Arguments.of("through the lost gateway itself", new SessionLossReport("n1", "gw1", 10, "gw1", 10, ""), N1,
            LoginFailure.BAD_REQUEST, false),
        // The reporting gateway vouches for a node it holds no session of (or not at that epoch):
        // another node's sessions, or a forged identity, withdraw nothing.
        Arguments.of("reporter holds no session of the node", new SessionLossReport("n1", "gw1", 10, "gw3", 30, ""),
            N1, LoginFailure.BAD_REQUEST, true),
        Arguments.of("reporter's epoch is not the live one", new SessionLossReport("n1", "gw1", 10, "gw2", 19, ""),
            N1, LoginFailure.BAD_REQUEST, true),
        Arguments.of("another node's sessions", new SessionLossReport("n2", "gw1", 10, "gw2", 20, ""), List.of(),
            LoginFailure.BAD_REQUEST, true),
        Arguments.of("lost session not live (older epoch)", new SessionLossReport("n1", "gw1", 9, "gw2", 20, ""), N1,
            LoginFailure.LEASE_UNKNOWN, true),
        Arguments.of("lost session on a gateway the node is not on",
            new SessionLossReport("n1", "gw3", 30, "gw2", 20, ""), N1, LoginFailure.LEASE_UNKNOWN, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void refusedReportsSayWhy(String what, SessionLossReport report, List<Live> sessions, LoginFailure failure,
                            boolean notFound) {
    SessionLossRule.Verdict verdict = SessionLossRule.judge(report, sessions);
    assertThat(verdict).isInstanceOf(Rejected.class);
    Rejected rejected = (Rejected) verdict;
    assertThat(rejected.failure()).isEqualTo(failure);
    assertThat(rejected.notFound()).isEqualTo(notFound);
    assertThat(rejected.reason()).isNotBlank();
  }
}
