package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.Route;
import dev.funnel.registry.LiveSessions.Live;
import dev.funnel.registry.Resolution.Found;
import dev.funnel.registry.Resolution.Refused;
import dev.funnel.registry.ResolveRules.Named;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Who may be resolved to: the checks on the name and tailnet, then which live session serves. */
class ResolveRulesTest {

  private static final String DOMAIN = "funnel.test";
  private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");
  /** Tailnet "on" allows 443 and 8443 with Funnel on; "off" has Funnel off; web and db are nodes. */
  private static final Snapshot VIEW = Snapshot.of(
      List.of(new Tailnet("on", true, List.of(443, 8443), T), new Tailnet("off", false, List.of(443), T)),
      List.of(new NodeIdentity("n-web", "web", "on", "pk1", "k1", T),
          new NodeIdentity("n-db", "db", "off", "pk2", "k1", T)));

  static Stream<Arguments> checks() {
    return Stream.of(
        Arguments.of("web.on.funnel.test", 443, null, "n-web"),
        Arguments.of("WEB.On.Funnel.Test.", 8443, null, "n-web"),
        Arguments.of("web.on.other.test", 443, ResolveFailure.NO_ROUTE, "not a name under funnel.test"),
        Arguments.of("on.funnel.test", 443, ResolveFailure.NO_ROUTE, "not a name under funnel.test"),
        Arguments.of("a.web.on.funnel.test", 443, ResolveFailure.NO_ROUTE, "not a name under funnel.test"),
        Arguments.of("web.nope.funnel.test", 443, ResolveFailure.NO_ROUTE, "no tailnet nope"),
        Arguments.of("api.on.funnel.test", 443, ResolveFailure.NO_ROUTE, "no node api in on"),
        Arguments.of("db.off.funnel.test", 443, ResolveFailure.FUNNEL_OFF, "funnel is off for tailnet off"),
        Arguments.of("web.on.funnel.test", 10000, ResolveFailure.PORT_NOT_ALLOWED,
            "tailnet on does not allow port 10000"));
  }

  @ParameterizedTest(name = "{0}:{1}")
  @MethodSource("checks")
  void theNameAndTailnetAreCheckedInOrder(String host, int port, ResolveFailure failure, String expected) {
    Object checked = ResolveRules.check(VIEW, DOMAIN, host, port);
    if (failure == null) {
      assertThat(checked).isEqualTo(new Named("web.on.funnel.test", expected));
    } else {
      assertThat(checked).isEqualTo(new Refused(failure, expected));
    }
  }

  private static final Named WEB = new Named("web.on.funnel.test", "n-web");
  private static final Live NEW_443 = live("gw-new", 20, 443);
  private static final Live OLD_443 = live("gw-old", 10, 443);
  private static final Live NEW_8443 = live("gw-new", 20, 8443);

  static Stream<Arguments> choices() {
    return Stream.of(
        Arguments.of("offline", List.of(), null, new Refused(ResolveFailure.NO_ROUTE, "node is offline")),
        Arguments.of("no session funnels the port", List.of(NEW_8443), null,
            new Refused(ResolveFailure.PORT_NOT_ALLOWED, "node does not funnel port 443")),
        Arguments.of("the newest serves", List.of(NEW_443, OLD_443), null, route("gw-new", 20)),
        Arguments.of("the newest that funnels the port serves", List.of(NEW_8443, OLD_443), null,
            route("gw-old", 10)),
        Arguments.of("avoiding the newest's gateway", List.of(NEW_443, OLD_443), "gw-new", route("gw-old", 10)),
        Arguments.of("avoiding another gateway", List.of(NEW_443, OLD_443), "gw-old", route("gw-new", 20)),
        Arguments.of("avoiding the only one that funnels it", List.of(NEW_443), "gw-new", route("gw-new", 20)),
        Arguments.of("avoiding, but the other does not funnel it", List.of(NEW_443, live("gw-old", 10, 8443)),
            "gw-new", route("gw-new", 20)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("choices")
  void theServingSessionIsChosen(String name, List<Live> live, String avoid, Resolution expected) {
    assertThat(ResolveRules.choose(WEB, 443, live, avoid)).isEqualTo(expected);
  }

  @Test
  void publicDnsNamesTheNewestSessionFunnellingAnAllowedPort() {
    Tailnet only8443 = new Tailnet("on", true, List.of(8443), T);
    assertThat(ResolveRules.dnsServing(only8443, List.of(NEW_443, live("gw-old", 10, 8443))))
        .map(Live::gatewayId).contains("gw-old");
    assertThat(ResolveRules.dnsServing(only8443, List.of(NEW_443))).isEmpty();
    assertThat(ResolveRules.dnsServing(only8443, List.of())).isEmpty();
  }

  private static Live live(String gateway, long epoch, int port) {
    return new Live("n-web", "web.on.funnel.test", gateway, epoch, List.of(port), Long.MAX_VALUE);
  }

  private static Found route(String gateway, long epoch) {
    return new Found(new Route("web.on.funnel.test", 443, "n-web", gateway, epoch));
  }
}
