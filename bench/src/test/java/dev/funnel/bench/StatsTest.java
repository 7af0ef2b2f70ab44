package dev.funnel.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class StatsTest {

  /** 1..1000 shuffled: the nearest rank of p is ceil(p * 10). */
  private static final long[] ONE_TO_THOUSAND = LongStream.rangeClosed(1, 1000)
      .map(i -> (i * 7919) % 1000 + 1).toArray();

  @ParameterizedTest
  @CsvSource({"50, 500", "99, 990", "99.9, 999", "100, 1000", "0.1, 1", "0.05, 1"})
  void nearestRankPercentiles(double p, long expected) {
    assertThat(Stats.percentile(ONE_TO_THOUSAND, p)).isEqualTo(expected);
  }

  @Test
  void fewSamplesGiveTheMaximumForHighPercentiles() {
    long[] five = {50, 10, 40, 20, 30};
    assertThat(Stats.percentile(five, 50)).isEqualTo(30);
    assertThat(Stats.percentile(five, 99.9)).isEqualTo(50);
    assertThat(five).containsExactly(50, 10, 40, 20, 30);
  }

  @Test
  void noSamplesIsNaNAndBadPercentilesThrow() {
    assertThat(Stats.percentile(new long[0], 50)).isNaN();
    assertThatThrownBy(() -> Stats.percentile(ONE_TO_THOUSAND, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Stats.percentile(ONE_TO_THOUSAND, 100.5)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void ratesAndRatios() {
    assertThat(Stats.percentileMillis(new long[] {2_500_000}, 50)).isEqualTo(2.5);
    assertThat(Stats.mibPerSecond(512L * 1024 * 1024, 2_000_000_000L)).isEqualTo(256.0);
    assertThat(Stats.perSecond(300, 1_500_000_000L)).isEqualTo(200.0);
    assertThat(Stats.ratio(3.0, 4.0)).isEqualTo(0.75);
    assertThat(Stats.ratio(3.0, 0.0)).isNaN();
    assertThat(Stats.ratio(null, 4.0)).isNaN();
  }

  @Test
  void roundsToSignificantDigits() {
    assertThat(Stats.round(1234.5678, 3)).isEqualTo(1230.0);
    assertThat(Stats.round(0.012345, 3)).isEqualTo(0.0123);
    assertThat(Stats.round(-9.876, 2)).isEqualTo(-9.9);
    assertThat(Stats.round(Double.NaN, 3)).isNaN();
  }
}
