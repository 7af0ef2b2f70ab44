package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RefusalChangesTest {

  private static final String OFF = "refused by the tailnet's policy: Funnel is off for tailnet demo";
  private static final String NOT_ALLOWED = "refused by the tailnet's policy: tailnet demo does not allow port 8443"
      + " (allowed: 443)";

  private static RefusalChanges.Line refused(int port, String reason) {
    return new RefusalChanges.Line(Level.WARNING, "public port " + port + " of web.demo.test is not routed: " + reason
        + "; clients are refused until that changes");
  }

  private static RefusalChanges.Line again(int port) {
    return new RefusalChanges.Line(Level.INFO, "public port " + port + " of web.demo.test is routed again");
  }

  static Stream<Arguments> changes() {
    return Stream.of(
        Arguments.of("nothing changed", Map.of(), Map.of(), List.of()),
        Arguments.of("the same refusal again says nothing", Map.of(443, OFF), Map.of(443, OFF), List.of()),
        Arguments.of("turned off, in port order", Map.of(), Map.of(8443, OFF, 443, OFF),
            List.of(refused(443, OFF), refused(8443, OFF))),
        Arguments.of("turned on again", Map.of(443, OFF, 8443, OFF), Map.of(), List.of(again(443), again(8443))),
        Arguments.of("one port no longer allowed", Map.of(), Map.of(8443, NOT_ALLOWED), List.of(refused(8443,
            NOT_ALLOWED))),
        Arguments.of("another reason for the same port", Map.of(8443, NOT_ALLOWED), Map.of(8443, OFF),
            List.of(refused(8443, OFF))),
        Arguments.of("on, but one port still not allowed", Map.of(443, OFF, 8443, OFF), Map.of(8443, NOT_ALLOWED),
            List.of(refused(8443, NOT_ALLOWED), again(443))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("changes")
  void saysWhatChanged(String name, Map<Integer, String> before, Map<Integer, String> after,
                       List<RefusalChanges.Line> expected) {
    assertThat(RefusalChanges.between(before, after, "web.demo.test")).isEqualTo(expected);
  }
}
