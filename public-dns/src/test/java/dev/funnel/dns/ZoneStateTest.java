package dev.funnel.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The SOA serial's steps and the challenge values held. */
class ZoneStateTest {

  @ParameterizedTest(name = "serial {0} at {1} s → {2}")
  @CsvSource({
      "100, 50, 101",                  // the clock behind: one more
      "100, 100, 101",                 // the clock equal: one more
      "100, 500, 500",                 // the clock ahead: the clock
      "4294967295, 0, 0",              // wraps at 2^32
      "4294967294, 0, 4294967295",
  })
  void theSerialMovesToOneMoreOrTheClock(long serial, long now, long next) {
    assertThat(ZoneState.next(serial, now)).isEqualTo(next);
  }

  @Test
  void newChallengesAreHeldAndMoveTheSerialOn() {
    ZoneState state = new ZoneState();
    long before = state.serial();
    assertThat(state.challenges()).isEmpty();
    Map<String, List<String>> held = Map.of("_acme-challenge.web.demo.funnel.test", List.of("token"));
    state.challenges(held);
    assertThat(state.challenges()).isEqualTo(held);
    assertThat(state.serial()).isGreaterThan(before);
    long after = state.serial();
    state.bumpSerial();
    assertThat(state.serial()).isGreaterThan(after);
  }
}
