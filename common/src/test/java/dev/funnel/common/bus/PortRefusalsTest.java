package dev.funnel.common.bus;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PortRefusalsTest {

  static Stream<Arguments> cases() {
    String policy = PortRefusals.POLICY;
    return Stream.of(
        Arguments.of("all allowed and listened", List.of(443), true, List.of(443), Set.of(443, 8443), Map.of()),
        Arguments.of("listeners unknown: nothing claimed", List.of(443, 8443), true, List.of(443, 8443), null, Map.of()),
        Arguments.of("port not allowed", List.of(443, 8443), true, List.of(443), Set.of(443, 8443),
            Map.of(8443, policy + ": tailnet demo does not allow port 8443 (allowed: 443)")),
        Arguments.of("no port allowed", List.of(10000), true, List.of(), null,
            Map.of(10000, policy + ": tailnet demo does not allow port 10000 (allowed: none)")),
        Arguments.of("funnel off refuses every port", List.of(443, 8443), false, List.of(443, 8443), Set.of(443),
            Map.of(443, policy + ": Funnel is off for tailnet demo", 8443, policy + ": Funnel is off for tailnet demo")),
        Arguments.of("allowed but no frontend listens", List.of(443, 10000), true, List.of(443, 10000), Set.of(443),
            Map.of(10000, PortRefusals.NO_LISTENER + " (10000)")),
        Arguments.of("no frontend live at all", List.of(443), true, List.of(443), Set.of(),
            Map.of(443, PortRefusals.NO_LISTENER + " (443)")),
        Arguments.of("policy wins over the listener", List.of(8443), true, List.of(443), Set.of(),
            Map.of(8443, policy + ": tailnet demo does not allow port 8443 (allowed: 443)")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void refusesByPolicyThenByListener(String name, List<Integer> ports, boolean on, List<Integer> allowed,
                                     Set<Integer> listened, Map<Integer, String> expected) {
    Map<Integer, String> refused = PortRefusals.of(ports, "demo", on, allowed, listened);
    assertThat(refused).isEqualTo(expected);
    assertThat(PortRefusals.fromJson(PortRefusals.toJson(refused))).isEqualTo(expected);
  }

  static Stream<Arguments> policyChanges() {
    String off = PortRefusals.POLICY + ": Funnel is off for tailnet demo";
    String noListener = PortRefusals.NO_LISTENER + " (10000)";
    return Stream.of(
        Arguments.of("turned off: every port refused", Map.of(), List.of(443, 8443), false, List.of(443, 8443),
            Map.of(443, off, 8443, off)),
        Arguments.of("turned on again: the policy's refusals go", Map.of(443, off, 8443, off), List.of(443, 8443), true,
            List.of(443, 8443), Map.of()),
        Arguments.of("a port no longer allowed", Map.of(), List.of(443, 8443), true, List.of(443),
            Map.of(8443, PortRefusals.POLICY + ": tailnet demo does not allow port 8443 (allowed: 443)")),
        Arguments.of("a refusal for want of a listener stays when the policy allows the port", Map.of(10000, noListener),
            List.of(443, 10000), true, List.of(443, 10000), Map.of(10000, noListener)),
        Arguments.of("the policy's refusal replaces the listener's", Map.of(10000, noListener), List.of(10000), false,
            List.of(10000), Map.of(10000, PortRefusals.POLICY + ": Funnel is off for tailnet demo")),
        Arguments.of("a listener's refusal of a port no longer funnelled goes", Map.of(10000, noListener),
            List.of(443), true, List.of(443, 10000), Map.of()),
        Arguments.of("no ports, nothing refused", Map.of(), List.of(), false, List.of(), Map.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("policyChanges")
  void aPolicyChangeDecidesThePolicysRefusalsAgainAndKeepsTheListenersOnes(String name, Map<Integer, String> previous,
      List<Integer> ports, boolean on, List<Integer> allowed, Map<Integer, String> expected) {
    assertThat(PortRefusals.withPolicy(previous, ports, "demo", on, allowed)).isEqualTo(expected);
  }
}
