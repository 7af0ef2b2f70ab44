package dev.funnel.common.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogLimitTest {

  @Test
  void admitsTheBudgetEachSecondAndCountsWhatItLeftOut() {
    AtomicLong clock = new AtomicLong(42);
    LogLimit limit = new LogLimit(3, clock::get);
    List<Long> answers = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      answers.add(limit.admit());
    }
    assertThat(answers).containsExactly(0L, 0L, 0L, -1L, -1L, -1L, -1L, -1L, -1L, -1L);
    clock.addAndGet(999_999_999L);
    assertThat(limit.admit()).isEqualTo(-1L);   // still the same window
    clock.addAndGet(1L);
    assertThat(limit.admit()).isEqualTo(8L);    // the first line of the next window says how many were left out
    assertThat(limit.admit()).isEqualTo(0L);
  }

  @Test
  void theSuffixNamesWhatWasLeftOut() {
    assertThat(LogLimit.leftOut(0, "refusals")).isEmpty();
    assertThat(LogLimit.leftOut(5, "refusals")).isEqualTo(" (5 more refusals not logged)");
  }

  @Test
  void aMessageIsBuiltOnlyWhenItIsLogged() {
    AtomicLong clock = new AtomicLong();
    LogLimit limit = new LogLimit(1, clock::get);
    int[] built = {0};
    System.Logger logger = System.getLogger(LogLimitTest.class.getName());
    for (int i = 0; i < 100; i++) {
      limit.log(logger, System.Logger.Level.INFO, "lines", () -> "line " + built[0]++);
    }
    assertThat(built[0]).isEqualTo(1);
  }

  @Test
  void aBudgetOfNothingIsRefused() {
    assertThatThrownBy(() -> new LogLimit(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
