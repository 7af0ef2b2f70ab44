package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.NodeLogin;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The pure checks of what nodes and admins ask: a login's shape, Funnel ports, a key's expiry. */
class NodeRequestChecksTest {

  private static NodeLogin login(String hostname, List<Integer> ports, String gateway, String key, String challenge,
                                 String proof) {
    return new NodeLogin("tskey", hostname, ports, gateway, key, challenge, proof, null);
  }

  static Stream<Arguments> logins() {
    List<Integer> p = List.of(443);
    return Stream.of(
        Arguments.of(login("web", p, "gw", "pk", "ch", "pr"), null),
        Arguments.of(login("web", List.of(443, 8443, 10000), "gw", "pk", "ch", "pr"), null),
        Arguments.of(login("web", List.of(), "gw", "pk", "ch", "pr"), null),
        Arguments.of(login("Web_1", p, "gw", "pk", "ch", "pr"),
            "hostname 'Web_1' is not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end)"),
        Arguments.of(login("-web", p, "gw", "pk", "ch", "pr"),
            "hostname '-web' is not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end)"),
        Arguments.of(login("web", List.of(443, 80), "gw", "pk", "ch", "pr"),
            "port 80 is not a Funnel port (443, 8443, 10000)"),
        Arguments.of(login("web", p, null, "pk", "ch", "pr"), "gatewayId is required"),
        Arguments.of(login("web", p, "", "pk", "ch", "pr"), "gatewayId is required"),
        Arguments.of(login("web", p, "gw", "", "ch", "pr"), "nodePublicKey is required"),
        Arguments.of(login("web", p, "gw", "pk", null, "pr"), "challenge is required"),
        Arguments.of(login("web", p, "gw", "pk", "ch", ""), "proof is required"),
        // The first problem is the one named.
        Arguments.of(login("web", List.of(22), null, null, null, null), "port 22 is not a Funnel port (443, 8443, 10000)"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("logins")
  void aMalformedLoginIsNamed(NodeLogin login, String expected) {
    assertThat(NodeLogins.badLogin(login)).isEqualTo(expected);
  }

  static Stream<Arguments> ports() {
    return Stream.of(
        Arguments.of(List.of(), null),
        Arguments.of(List.of(443, 8443, 10000), null),
        Arguments.of(List.of(443, 444), "port 444 is not a Funnel port (443, 8443, 10000)"),
        Arguments.of(Arrays.asList(443, null), "port null is not a Funnel port (443, 8443, 10000)"),
        Arguments.of(List.of(0), "port 0 is not a Funnel port (443, 8443, 10000)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ports")
  void onlyFunnelPortsPass(List<Integer> ports, String expected) {
    assertThat(NodeSessions.badPort(ports)).isEqualTo(expected);
  }

  static Stream<Arguments> expiries() {
    String refused = "expiry must be between 1 second and 10 years";
    return Stream.of(
        Arguments.of(null, null),
        Arguments.of(Duration.ofSeconds(1), null),
        Arguments.of(Duration.ofSeconds(RegistryService.MAX_KEY_EXPIRY_SECONDS), null),
        Arguments.of(Duration.ofSeconds(RegistryService.MAX_KEY_EXPIRY_SECONDS + 1), refused),
        Arguments.of(Duration.ZERO, refused),
        Arguments.of(Duration.ofSeconds(-1), refused),
        // As it always was: whole seconds are compared, so a sub-second expiry passes (the REST API
        // takes whole seconds, the console a fixed list of lifetimes).
        Arguments.of(Duration.ofMillis(500), null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("expiries")
  void aKeyExpiresWithinTenYears(Duration expiry, String expected) {
    assertThat(AuthKeys.badExpiry(expiry)).isEqualTo(expected);
  }
}
