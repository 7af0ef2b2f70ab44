package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.GatePolicy.RateLimit;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link ServeState}: the serve snapshot, the funnelled ports, and which policies make a stream port's gate. */
class ServeStateTest {

  private static final ServeTarget WEB = ServeTarget.parse("http://127.0.0.1:3000");
  private static final ServeTarget SSH = ServeTarget.parse("tcp://127.0.0.1:22");

  static Stream<Arguments> gates() {
    return Stream.of(
        Arguments.of(GatePolicy.NONE, false),
        Arguments.of(GatePolicy.NONE.withAllowCidrs(List.of("10.0.0.0/8")), true),
        Arguments.of(GatePolicy.NONE.withDenyCidrs(List.of("192.0.2.0/24")), true),
        Arguments.of(GatePolicy.NONE.withRateLimit(new RateLimit(2, Duration.ofMinutes(1))), true),
        Arguments.of(GatePolicy.NONE.withMaxBodyBytes(1024), false));
  }

  @ParameterizedTest
  @MethodSource("gates")
  void onlyCidrListsAndRateLimitsMakeAGate(GatePolicy policy, boolean gated) {
    assertThat(ServeState.gates(policy)).isEqualTo(gated);
  }

  static Stream<Arguments> described() {
    return Stream.of(
        Arguments.of(Map.of(), List.of(), "(nothing funnelled)"),
        Arguments.of(Map.of(443, WEB), List.of(443), "443=" + WEB),
        Arguments.of(Map.of(8443, SSH, 443, WEB), List.of(443, 8443), "443=" + WEB + ", 8443=" + SSH),
        Arguments.of(Map.of(10000, SSH, 443, WEB, 8443, SSH), List.of(443, 8443, 10000),
            "443=" + WEB + ", 8443=" + SSH + ", 10000=" + SSH));
  }

  @ParameterizedTest
  @MethodSource("described")
  void portsAndDescriptionAreByPortAscending(Map<Integer, ServeTarget> serve, List<Integer> ports, String text) {
    assertThat(ServeState.sortedPorts(serve)).isEqualTo(ports);
    assertThat(ServeState.describe(serve)).isEqualTo(text);
  }

  @Test
  void replaceSwapsTheSnapshotForTheNextReader() {
    ServeState state = new ServeState(Map.of(443, WEB));
    Map<Integer, ServeTarget> before = state.snapshot();
    state.replace(Map.of(8443, SSH, 22, SSH));
    assertThat(before).containsOnlyKeys(443);
    assertThat(state.snapshot()).containsOnlyKeys(22, 8443);
    assertThat(state.ports()).containsExactly(22, 8443);
    assertThat(state.serves(443)).isFalse();
    assertThat(state.serves(8443)).isTrue();
  }

  @Test
  void rulesSetBeforeTheStartMakeGatesAtTheStart() {
    ServeState state = new ServeState(Map.of(22, SSH, 8443, SSH));
    GatePolicy deny = GatePolicy.NONE.withDenyCidrs(List.of("192.0.2.0/24"));
    state.updateTcpRules(Map.of(22, deny, 8443, GatePolicy.NONE));
    assertThat(state.gates()).isEmpty();
    state.start(new SimpleMeterRegistry());
    assertThat(state.gates()).containsOnlyKeys(22);
    assertThat(state.gate(22)).hasValueSatisfying(gate -> assertThat(gate.policy()).isEqualTo(deny));
    assertThat(state.gate(8443)).isEmpty();
    state.updateTcpRules(Map.of());
    assertThat(state.gates()).isEmpty();
  }
}
