package dev.funnel.node.acme;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RenewalPlanTest {

  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final Instant NINETY_DAYS = T0.plus(Duration.ofDays(90));

  static Stream<Arguments> renewals() {
    RenewalPlan.Window window = new RenewalPlan.Window(T0.plus(Duration.ofDays(50)), T0.plus(Duration.ofDays(52)));
    return Stream.of(
        // name, notBefore, notAfter, ARI window, jitter, now, expected
        Arguments.of("2/3 of 90 days, no jitter", T0, NINETY_DAYS, Optional.empty(), 0.0, T0,
            T0.plus(Duration.ofDays(60))),
        Arguments.of("2/3 of 90 days, full jitter: 1/20 of the lifetime earlier", T0, NINETY_DAYS, Optional.empty(),
            1.0, T0, T0.plus(Duration.ofDays(60)).minus(Duration.ofHours(108))),
        Arguments.of("ARI window start", T0, NINETY_DAYS, Optional.of(window), 0.0, T0, window.start()),
        Arguments.of("ARI window middle", T0, NINETY_DAYS, Optional.of(window), 0.5, T0,
            T0.plus(Duration.ofDays(51))),
        Arguments.of("ARI window end", T0, NINETY_DAYS, Optional.of(window), 1.0, T0, window.end()),
        Arguments.of("ARI window in the past: now", T0, NINETY_DAYS, Optional.of(window), 0.5,
            T0.plus(Duration.ofDays(70)), T0.plus(Duration.ofDays(70))),
        Arguments.of("an inverted ARI window is ignored", T0, NINETY_DAYS,
            Optional.of(new RenewalPlan.Window(window.end(), window.start())), 0.0, T0, T0.plus(Duration.ofDays(60))),
        Arguments.of("past 2/3 already: now", T0, NINETY_DAYS, Optional.empty(), 0.0, T0.plus(Duration.ofDays(80)),
            T0.plus(Duration.ofDays(80))),
        Arguments.of("pebble's 5 years", T0, T0.plus(Duration.ofDays(1826)), Optional.empty(), 0.0, T0,
            T0.plus(Duration.ofMillis(Duration.ofDays(1826).toMillis() * 2 / 3))),
        Arguments.of("jitter outside [0,1] is clamped", T0, NINETY_DAYS, Optional.empty(), 7.0, T0,
            T0.plus(Duration.ofDays(60)).minus(Duration.ofHours(108))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("renewals")
  void renewsAt(String name, Instant notBefore, Instant notAfter, Optional<RenewalPlan.Window> ari, double jitter,
                Instant now, Instant expected) {
    assertThat(RenewalPlan.renewAt(notBefore, notAfter, ari, jitter, now)).isEqualTo(expected);
  }

  static Stream<Arguments> retries() {
    return Stream.of(
        // name, failures, retryAfter, jitter, expected wait
        Arguments.of("first failure, jitter 0: half of the minimum", 1, Optional.empty(), 0.0, Duration.ofSeconds(15)),
        Arguments.of("first failure, jitter 1: the minimum", 1, Optional.empty(), 1.0, Duration.ofSeconds(30)),
        Arguments.of("third failure doubles twice", 3, Optional.empty(), 1.0, Duration.ofMinutes(2)),
        Arguments.of("capped at six hours", 30, Optional.empty(), 1.0, Duration.ofHours(6)),
        Arguments.of("the CA's Retry-After wins", 1, Optional.of(T0.plus(Duration.ofHours(3))), 0.0,
            Duration.ofHours(3)),
        Arguments.of("a Retry-After sooner than the minimum is raised to it", 5,
            Optional.of(T0.plus(Duration.ofSeconds(1))), 0.0, Duration.ofSeconds(30)),
        Arguments.of("zero failures counts as one", 0, Optional.empty(), 1.0, Duration.ofSeconds(30)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("retries")
  void retriesAt(String name, int failures, Optional<Instant> retryAfter, double jitter, Duration expected) {
    assertThat(RenewalPlan.retryAt(failures, retryAfter, jitter, T0)).isEqualTo(T0.plus(expected));
  }

  @Test
  void everyRetryIsBoundedBetweenTheMinimumHalfAndTheCap() {
    for (int failures = 1; failures < 64; failures++) {
      for (double jitter : new double[] {0, 0.3, 0.999}) {
        Duration wait = Duration.between(T0, RenewalPlan.retryAt(failures, Optional.empty(), jitter, T0));
        assertThat(wait).isBetween(RenewalPlan.MIN_BACKOFF.dividedBy(2), RenewalPlan.MAX_BACKOFF);
      }
    }
  }
}
