package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.bus.ProbeResult.Outcome;
import dev.funnel.node.ProbeVerdict.Hop;
import dev.funnel.node.ProbeVerdict.Observation;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProbeVerdictTest {

  static final String MINE = "aa11";
  static final String DNS = "127.0.0.1:5353";

  static ProbeResult done(String fingerprint) {
    return new ProbeResult(Outcome.HANDSHAKE_DONE, null, "done", 4, fingerprint, "127.0.0.1:50001", "fe-1", null,
        List.of());
  }

  static ProbeResult failed(String code) {
    return new ProbeResult(Outcome.HANDSHAKE_FAILED, code, "Received fatal alert: " + code, 4, null, "127.0.0.1:50001",
        "fe-1", null, List.of());
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        // name, observation, ok, hop, message fragment
        Arguments.of("terminated: my certificate came back", new Observation(null, done(MINE), MINE, 200, null),
            true, Hop.NONE, "this node's certificate came back in 4 ms"),
        Arguments.of("tcp: my tunnel was accepted and the handshake done", new Observation(null, done("bb22"), null, 200,
            null), true, Hop.NONE, "local server answered"),
        Arguments.of("gateway never answered", new Observation("the gateway did not answer the probe within 15000 ms",
            null, MINE, 0, null), false, Hop.GATEWAY, "did not answer"),
        Arguments.of("no frontend", new Observation(null, ProbeResult.of(Outcome.NO_FRONTEND, null,
            "no frontend is running"), MINE, 0, null), false, Hop.FRONTEND, "no frontend"),
        Arguments.of("frontend timed out", new Observation(null, ProbeResult.of(Outcome.TIMEOUT, null, "no answer"),
            MINE, 0, null), false, Hop.FRONTEND, "no answer"),
        Arguments.of("frontend has no listener", new Observation(null, ProbeResult.of(Outcome.FRONTEND_DIAL_FAILED,
            "NO_LISTENER", "no public listener for port 8443"), MINE, 0, null), false, Hop.FRONTEND, "8443"),
        Arguments.of("registry refuses: funnel off", new Observation(null, ProbeResult.of(Outcome.REGISTRY_REFUSED,
            "FUNNEL_OFF", "funnel is off"), MINE, 0, null), false, Hop.REGISTRY, "refuses the name (FUNNEL_OFF)"),
        Arguments.of("no registry", new Observation(null, ProbeResult.of(Outcome.NO_REGISTRY, "NO_HANDLERS", "none"),
            MINE, 0, null), false, Hop.REGISTRY, "none"),
        Arguments.of("handshake failed, tunnel never arrived", new Observation(null, failed("INTERNAL_ERROR"), MINE, 0,
            null), false, Hop.GATEWAY, "never reached this node (INTERNAL_ERROR)"),
        Arguments.of("tunnel arrived, node said 503", new Observation(null, failed(null), null, 503,
            "cannot connect to 127.0.0.1:9 (Connection refused)"), false, Hop.LOCAL_TARGET, "Connection refused"),
        Arguments.of("tunnel arrived, node said 403", new Observation(null, failed(null), MINE, 403, null), false,
            Hop.NODE, "answered 403"),
        Arguments.of("tcp: accepted but the local server failed the handshake", new Observation(null, failed(null),
            null, 200, null), false, Hop.LOCAL_TARGET, "local server took the tunnel"),
        Arguments.of("terminated: accepted but the terminator failed the handshake", new Observation(null, failed(null),
            MINE, 200, null), false, Hop.NODE, "terminator"),
        Arguments.of("someone else's certificate", new Observation(null, done("ffff"), MINE, 200, null), false, Hop.NODE,
            "not with this node's certificate"),
        Arguments.of("tcp: a handshake but not through this node", new Observation(null, done("ffff"), null, 0, null),
            false, Hop.NODE, "never accepted"),
        Arguments.of("path works, local target down", new Observation(null, done(MINE), MINE, 200,
            "cannot connect to 127.0.0.1:3000 (Connection refused)"), false, Hop.LOCAL_TARGET, "127.0.0.1:3000"),
        Arguments.of("path works, Funnel's DNS gives nothing", new Observation(null, done(MINE).withDns(DNS, List.of()),
            MINE, 200, null), false, Hop.DNS, DNS),
        Arguments.of("path works, DNS answers", new Observation(null, done(MINE).withDns(DNS, List.of("127.0.0.1")),
            MINE, 200, null), true, Hop.NONE, "came back"),
        Arguments.of("registry refusal wins over the empty DNS answer", new Observation(null, ProbeResult.of(
            Outcome.REGISTRY_REFUSED, "FUNNEL_OFF", "off").withDns(DNS, List.of()), MINE, 0, null), false,
            Hop.REGISTRY, "FUNNEL_OFF"),
        Arguments.of("rate limited", new Observation(null, ProbeResult.of(Outcome.RATE_LIMITED, null,
            "a probe of this node is already running"), MINE, 0, null), false, Hop.NONE, "not probed"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void namesTheFirstHopThatFailed(String name, Observation observation, boolean ok, Hop hop, String fragment) {
    ProbeVerdict.Verdict verdict = ProbeVerdict.judge(observation);
    assertThat(verdict.ok()).as(verdict.message()).isEqualTo(ok);
    assertThat(verdict.hop()).as(verdict.message()).isEqualTo(hop);
    assertThat(verdict.message()).contains(fragment);
  }
}
