package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A node certificate's days left, and which reports are kept. */
class CertificateExpiriesTest {

  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

  static Stream<Arguments> days() {
    return Stream.of(
        Arguments.of("unknown", null, null),
        Arguments.of("exactly 30 days", NOW.plus(Duration.ofDays(30)), 30L),
        Arguments.of("a second short of 30 days", NOW.plus(Duration.ofDays(30)).minusSeconds(1), 29L),
        Arguments.of("90 days and 23 hours", NOW.plus(Duration.ofDays(90)).plus(Duration.ofHours(23)), 90L),
        Arguments.of("expiring now", NOW, 0L),
        Arguments.of("expired a second ago", NOW.minusSeconds(1), -1L),
        Arguments.of("expired two days ago", NOW.minus(Duration.ofDays(2)), -2L),
        Arguments.of("sub-second part ignored", NOW.plus(Duration.ofDays(1)).plusMillis(999), 1L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("days")
  void daysLeftAreWholeDaysRoundedDown(String name, Instant notAfter, Long expected) {
    assertThat(CertificateExpiries.daysLeft(notAfter, NOW)).isEqualTo(expected);
    assertThat(new NodeView(null, "web.on.funnel.test", true, java.util.List.of(), java.util.List.of(),
        java.util.Map.of(), notAfter).certDaysLeft(NOW)).isEqualTo(expected);
  }

  @Test
  void onlyKnownNodesReportsAreKept() {
    CertificateExpiries expiries = new CertificateExpiries("known"::equals);
    expiries.reported("known", NOW.getEpochSecond());
    expiries.reported("stranger", NOW.getEpochSecond());
    expiries.reported(null, NOW.getEpochSecond());
    assertThat(expiries.of("known")).isEqualTo(NOW);
    assertThat(expiries.of("stranger")).isNull();
    expiries.reported("known", NOW.plusSeconds(60).getEpochSecond());
    assertThat(expiries.of("known")).as("the latest report wins").isEqualTo(NOW.plusSeconds(60));
  }
}
