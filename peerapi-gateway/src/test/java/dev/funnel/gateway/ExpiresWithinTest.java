package dev.funnel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The window of {@code funnel_gateway_node_certificates}: each bound belongs to the window above it. */
class ExpiresWithinTest {

  static final long NOW = 1_796_000_000L;
  static final long DAY = 86_400;

  @ParameterizedTest(name = "{0} s left → {1}")
  @CsvSource({
      // seconds left, window
      "-31536000, expired",
      "-1, expired",
      "0, expired",
      "1, 1d",
      "86399, 1d",
      "86400, 7d",
      "518400, 7d",
      "604799, 7d",
      "604800, 30d",
      "2591999, 30d",
      "2592000, later",
      "7776000, later"})
  void aCertificateFallsInTheFirstWindowItsTimeLeftIsBelow(long left, String window) {
    assertThat(ExpiresWithin.of(NOW, NOW + left).label()).isEqualTo(window);
  }

  @ParameterizedTest
  @CsvSource({"-9223372036854775808, expired", "9223372036854775807, later", "0, expired"})
  void anyNumberANodeSendsHasAWindow(long notAfter, String window) {
    assertThat(ExpiresWithin.of(NOW, notAfter).label()).isEqualTo(window);
  }

  @ParameterizedTest
  @CsvSource({"1, 7d", "6, 7d", "7, 30d", "29, 30d", "30, later", "89, later"})
  void wholeDays(long days, String window) {
    assertThat(ExpiresWithin.of(NOW, NOW + days * DAY).label()).isEqualTo(window);
  }
}
