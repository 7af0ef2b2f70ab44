package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link SessionLinks#redialWaitMillis}: 0.5 s after the first failed link dial, doubling to 5 s. */
class SessionLinksTest {

  @ParameterizedTest(name = "{0} failures → {1} ms")
  @CsvSource({"1, 500", "2, 1000", "3, 2000", "4, 4000", "5, 5000", "6, 5000", "1000, 5000"})
  void redialWaitDoublesToFiveSeconds(int failures, long millis) {
    assertThat(SessionLinks.redialWaitMillis(failures)).isEqualTo(millis);
  }
}
