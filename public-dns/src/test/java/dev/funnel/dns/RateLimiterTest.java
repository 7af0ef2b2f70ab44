package dev.funnel.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.dns.RateLimiter.Decision;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RateLimiterTest {

  private static final long SECOND = 1_000_000_000L;

  private static InetAddress ip(String literal) throws Exception {
    return org.xbill.DNS.Address.getByAddress(literal);
  }

  @Test
  void theBurstPassesThenEveryNthLimitedQuerySlipsAndTheBucketRefills() throws Exception {
    RateLimiter limiter = new RateLimiter(2, 4, 3, 100);
    InetAddress source = ip("203.0.113.7");
    List<Decision> decisions = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      decisions.add(limiter.check(source, 0));
    }
    assertThat(decisions).containsExactly(Decision.ALLOW, Decision.ALLOW, Decision.ALLOW, Decision.ALLOW,
        Decision.DROP, Decision.DROP, Decision.SLIP, Decision.DROP, Decision.DROP, Decision.SLIP);
    assertThat(limiter.check(source, SECOND / 2)).as("one token after half a second at 2/s").isEqualTo(Decision.ALLOW);
    assertThat(limiter.check(source, SECOND / 2)).isEqualTo(Decision.DROP);
  }

  @Test
  void sourcesShareABucketPerSlash24AndSlash56() throws Exception {
    RateLimiter limiter = new RateLimiter(1, 1, 0, 100);
    assertThat(limiter.check(ip("198.51.100.1"), 0)).isEqualTo(Decision.ALLOW);
    assertThat(limiter.check(ip("198.51.100.250"), 0)).as("same /24").isEqualTo(Decision.DROP);
    assertThat(limiter.check(ip("198.51.101.1"), 0)).as("next /24").isEqualTo(Decision.ALLOW);
    assertThat(limiter.check(ip("2001:db8:0:ab00::1"), 0)).isEqualTo(Decision.ALLOW);
    assertThat(limiter.check(ip("2001:db8:0:abff:ffff::9"), 0)).as("same /56").isEqualTo(Decision.DROP);
    assertThat(limiter.check(ip("2001:db8:0:ac00::1"), 0)).as("next /56").isEqualTo(Decision.ALLOW);
  }

  @Test
  void itRemembersABoundedNumberOfSourcesForgettingIdleOnesFirst() throws Exception {
    RateLimiter limiter = new RateLimiter(1, 1, 0, 2);
    limiter.check(ip("192.0.2.1"), 0);
    limiter.check(ip("198.51.100.1"), 10 * SECOND);
    limiter.check(ip("203.0.113.1"), 10 * SECOND);
    assertThat(limiter.sources()).isLessThanOrEqualTo(2);
    assertThat(limiter.check(ip("198.51.100.1"), 10 * SECOND)).as("the busy one is still remembered").isEqualTo(Decision.DROP);
  }

  @Test
  void rateZeroIsOff() throws Exception {
    RateLimiter limiter = new RateLimiter(0, 0, 0, 1);
    for (int i = 0; i < 100; i++) {
      assertThat(limiter.check(ip("192.0.2.1"), 0)).isEqualTo(Decision.ALLOW);
    }
  }
}
