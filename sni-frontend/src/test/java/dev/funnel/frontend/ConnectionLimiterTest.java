package dev.funnel.frontend;

import static dev.funnel.frontend.ConnectionLimiter.Verdict.ADMITTED;
import static dev.funnel.frontend.ConnectionLimiter.Verdict.RATE_LIMITED;
import static dev.funnel.frontend.ConnectionLimiter.Verdict.SERVER_FULL;
import static dev.funnel.frontend.ConnectionLimiter.Verdict.SOURCE_LIMIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.frontend.ConnectionLimiter.Limits;
import dev.funnel.frontend.ConnectionLimiter.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ConnectionLimiterTest {

  final AtomicLong clock = new AtomicLong(1_000_000_000L);

  ConnectionLimiter limiter(int max, int perSource, double rate, int burst, int tracked) {
    return new ConnectionLimiter(new Limits(max, perSource, rate, burst, tracked), clock::get);
  }

  void advanceMillis(long millis) {
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
  }

  List<Verdict> admitAndRelease(ConnectionLimiter limiter, String source, int times) {
    List<Verdict> out = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      Verdict v = limiter.admit(source);
      out.add(v);
      if (v == ADMITTED) {
        limiter.release(source);
      }
    }
    return out;
  }

  @Test
  void aBurstIsAdmittedThenTheSourceIsRateLimitedUntilTokensRefill() {
    ConnectionLimiter limiter = limiter(1000, 1000, 10, 5, 100);
    assertThat(admitAndRelease(limiter, "198.51.100.7", 7))
        .containsExactly(ADMITTED, ADMITTED, ADMITTED, ADMITTED, ADMITTED, RATE_LIMITED, RATE_LIMITED);
    advanceMillis(99);
    assertThat(limiter.admit("198.51.100.7")).as("0.99 of a token").isEqualTo(RATE_LIMITED);
    advanceMillis(2);
    assertThat(admitAndRelease(limiter, "198.51.100.7", 2)).containsExactly(ADMITTED, RATE_LIMITED);
    advanceMillis(10_000);
    assertThat(admitAndRelease(limiter, "198.51.100.7", 6)).as("refilled to the burst, not beyond")
        .containsExactly(ADMITTED, ADMITTED, ADMITTED, ADMITTED, ADMITTED, RATE_LIMITED);
  }

  @Test
  void oneSourceBeingLimitedDoesNotLimitAnother() {
    ConnectionLimiter limiter = limiter(1000, 1000, 1, 3, 100);
    admitAndRelease(limiter, "127.0.0.2", 50);
    assertThat(limiter.admit("127.0.0.2")).isEqualTo(RATE_LIMITED);
    assertThat(admitAndRelease(limiter, "127.0.0.1", 3)).containsOnly(ADMITTED);
  }

  @Test
  void perSourceOpenConnectionsAreCappedAndFreedOnRelease() {
    ConnectionLimiter limiter = limiter(1000, 2, 1000, 1000, 100);
    assertThat(limiter.admit("203.0.113.9")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("203.0.113.9")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("203.0.113.9")).isEqualTo(SOURCE_LIMIT);
    assertThat(limiter.admit("203.0.113.10")).isEqualTo(ADMITTED);
    limiter.release("203.0.113.9");
    assertThat(limiter.admit("203.0.113.9")).isEqualTo(ADMITTED);
    assertThat(limiter.openConnections()).isEqualTo(3);
    assertThat(limiter.openSources()).isEqualTo(2);
  }

  @Test
  void theGlobalCapRefusesEveryoneUntilAConnectionCloses() {
    ConnectionLimiter limiter = limiter(3, 1000, 1000, 1000, 100);
    assertThat(limiter.admit("a")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("b")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("c")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("d")).isEqualTo(SERVER_FULL);
    assertThat(limiter.admit("a")).isEqualTo(SERVER_FULL);
    limiter.release("b");
    assertThat(limiter.admit("d")).isEqualTo(ADMITTED);
    assertThat(limiter.openConnections()).isEqualTo(3);
  }

  @Test
  void refusalsAtTheCapsSpendNoToken() {
    ConnectionLimiter limiter = limiter(1000, 1, 1, 2, 100);
    assertThat(limiter.admit("s")).isEqualTo(ADMITTED);
    for (int i = 0; i < 10; i++) {
      assertThat(limiter.admit("s")).isEqualTo(SOURCE_LIMIT);
    }
    limiter.release("s");
    assertThat(limiter.admit("s")).as("one token left of two").isEqualTo(ADMITTED);
  }

  @Test
  void releaseOfAnUnknownSourceChangesNothing() {
    ConnectionLimiter limiter = limiter(2, 2, 10, 10, 10);
    limiter.release("never-admitted");
    assertThat(limiter.openConnections()).isZero();
    assertThat(limiter.admit("x")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("x")).isEqualTo(ADMITTED);
    assertThat(limiter.admit("x")).isEqualTo(SERVER_FULL);
  }

  @Test
  void rememberedSourcesAreBoundedLeastRecentlySeenForgottenFirst() {
    ConnectionLimiter limiter = limiter(1_000_000, 10, 1, 1, 100);
    for (int i = 0; i < 10_000; i++) {
      admitAndRelease(limiter, "10.0." + (i / 256) + "." + (i % 256), 1);
    }
    assertThat(limiter.trackedSources()).isEqualTo(100);
    assertThat(limiter.admit("10.0.39.15")).as("the last source is remembered").isEqualTo(RATE_LIMITED);
    assertThat(limiter.admit("10.0.0.0")).as("the first was forgotten: a fresh bucket").isEqualTo(ADMITTED);
  }

  @Test
  void bucketsIdleForAFullRefillAreForgotten() {
    ConnectionLimiter limiter = limiter(1000, 10, 2, 4, 1000);
    for (int i = 0; i < 50; i++) {
      admitAndRelease(limiter, "192.0.2." + i, 1);
    }
    assertThat(limiter.trackedSources()).isEqualTo(50);
    advanceMillis(1_999);
    admitAndRelease(limiter, "192.0.2.200", 1);
    assertThat(limiter.trackedSources()).as("4 tokens at 2/s: not yet full").isEqualTo(51);
    advanceMillis(2);
    admitAndRelease(limiter, "192.0.2.201", 1);
    assertThat(limiter.trackedSources()).as("the 50 old ones are full, so gone").isEqualTo(2);
  }

  @ParameterizedTest
  @CsvSource({
      "127.0.0.1, 127.0.0.1",
      "::ffff:127.0.0.2, 127.0.0.2",
      "0:0:0:0:0:ffff:c000:0201, 192.0.2.1",
      "2001:db8:1:2::1, 2001:db8:1:2::/64",
      "2001:db8:1:2:ffff:ffff:ffff:ffff, 2001:db8:1:2::/64",
      "2001:db8:1:3::1, 2001:db8:1:3::/64",
      "[2001:db8::1], 2001:db8:0:0::/64",
      "fe80::1%eth0, fe80:0:0:0::/64",
      "::1, 0:0:0:0::/64",
      "not-an-ip, not-an-ip",
  })
  void sourcesAreIpv4AddressesOrIpv6Slash64s(String host, String source) {
    assertThat(ConnectionLimiter.sourceOf(host)).isEqualTo(source);
  }

  @Test
  void oneIpv6Slash64IsOneSource() {
    ConnectionLimiter limiter = limiter(1000, 2, 1000, 1000, 100);
    assertThat(limiter.admit(ConnectionLimiter.sourceOf("2001:db8:1:2::1"))).isEqualTo(ADMITTED);
    assertThat(limiter.admit(ConnectionLimiter.sourceOf("2001:db8:1:2::2"))).isEqualTo(ADMITTED);
    assertThat(limiter.admit(ConnectionLimiter.sourceOf("2001:db8:1:2:abcd::3"))).isEqualTo(SOURCE_LIMIT);
    assertThat(limiter.admit(ConnectionLimiter.sourceOf("2001:db8:1:3::1"))).isEqualTo(ADMITTED);
  }

  @Test
  void limitsMustBePositive() {
    assertThatThrownBy(() -> new Limits(0, 1, 1, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Limits(1, 1, 0, 1, 1)).isInstanceOf(IllegalArgumentException.class);
  }
}
