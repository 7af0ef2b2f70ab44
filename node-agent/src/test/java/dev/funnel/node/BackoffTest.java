package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BackoffTest {

  @Test
  void firstDelayIsTheMinimumAndTheCeilingDoublesUpToTheMaximum() {
    Backoff backoff = new Backoff(100, 1_000, new Random(42));
    assertThat(backoff.next()).isEqualTo(100);
    long ceiling = 100;
    for (int attempt = 1; attempt < 40; attempt++) {
      ceiling = Math.min(1_000, ceiling * 2);
      assertThat(backoff.next()).as("attempt %d", attempt).isBetween(100L, ceiling);
    }
  }

  @Test
  void delaysAreJitteredAcrossTheWholeRange() {
    Backoff backoff = new Backoff(100, 1_000, new Random(7));
    for (int i = 0; i < 5; i++) {
      backoff.next();
    }
    long lowest = Long.MAX_VALUE;
    long highest = 0;
    for (int i = 0; i < 500; i++) {
      long delay = backoff.next();
      lowest = Math.min(lowest, delay);
      highest = Math.max(highest, delay);
    }
    assertThat(lowest).isLessThan(200);
    assertThat(highest).isGreaterThan(900).isLessThanOrEqualTo(1_000);
  }

  @Test
  void resetStartsOver() {
    Backoff backoff = new Backoff(50, 10_000, new Random(1));
    for (int i = 0; i < 10; i++) {
      backoff.next();
    }
    assertThat(backoff.attempts()).isEqualTo(10);
    backoff.reset();
    assertThat(backoff.attempts()).isZero();
    assertThat(backoff.next()).isEqualTo(50);
  }

  @Test
  void aMaximumBelowTheMinimumIsTheMinimum() {
    Backoff backoff = new Backoff(500, 100, new Random(1));
    assertThat(backoff.next()).isEqualTo(500);
    assertThat(backoff.next()).isEqualTo(500);
  }

  @ParameterizedTest(name = "min {0}, max {1}, attempt {2} → {3}")
  @CsvSource({
      "100, 1000, 0, 100",
      "100, 1000, 1, 200",
      "100, 1000, 2, 400",
      "100, 1000, 3, 800",
      "100, 1000, 4, 1000",
      "100, 1000, 40, 1000",
      "500, 30000, 5, 16000",
      "500, 30000, 6, 30000",
      "500, 500, 3, 500",
      "1, 1, 0, 1",
  })
  void ceilingDoublesFromTheMinimumUpToTheMaximum(long min, long max, int attempt, long ceiling) {
    assertThat(Backoff.ceiling(min, max, attempt)).isEqualTo(ceiling);
  }
}
