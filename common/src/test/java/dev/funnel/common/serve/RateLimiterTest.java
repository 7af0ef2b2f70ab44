package dev.funnel.common.serve;

import static dev.funnel.common.serve.NetworkRuleTest.ip;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateLimiterTest {

  private static final long MS = 1_000_000L;
  private final AtomicLong clock = new AtomicLong(1_000 * MS);

  private RateLimiter limiter(String rate, int maxKeys) {
    return new RateLimiter(GatePolicy.RateLimit.parse(rate), maxKeys, clock::get);
  }

  @Test
  void theTwentyFirstInASecondIsRefusedWithRetryAfter() {
    RateLimiter limiter = limiter("20/s", 100);
    InetAddress a = ip("203.0.113.7");
    for (int i = 0; i < 20; i++) {
      clock.addAndGet(40 * MS); // spread over 800 ms: a greedy refill would have let the 21st through
      assertThat(limiter.acquire(a).allowed()).as("request %d", i + 1).isTrue();
    }
    clock.addAndGet(150 * MS); // 950 ms after the first
    RateLimiter.Permit refused = limiter.acquire(a);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.retryAfterSeconds()).isEqualTo(1);
    // another address has its own bucket
    assertThat(limiter.acquire(ip("203.0.113.8")).allowed()).isTrue();
    // one second after the first request (at 40 ms) the bucket is full again
    clock.addAndGet(90 * MS);
    for (int i = 0; i < 20; i++) {
      assertThat(limiter.acquire(a).allowed()).isTrue();
    }
    assertThat(limiter.acquire(a).allowed()).isFalse();
  }

  @Test
  void retryAfterCountsWholeSecondsToTheRefill() {
    RateLimiter limiter = limiter("1/m", 10);
    InetAddress a = ip("192.0.2.1");
    assertThat(limiter.acquire(a).allowed()).isTrue();
    clock.addAndGet(10_500 * MS);
    assertThat(limiter.acquire(a)).isEqualTo(new RateLimiter.Permit(false, 50));
    clock.addAndGet(49_499 * MS);
    assertThat(limiter.acquire(a)).isEqualTo(new RateLimiter.Permit(false, 1));
    clock.addAndGet(1 * MS);
    assertThat(limiter.acquire(a).allowed()).isTrue();
    // a long idle gap: full again, the window re-anchored on the period grid
    clock.addAndGet(3_600_000 * MS + 7 * MS);
    assertThat(limiter.acquire(a).allowed()).isTrue();
    assertThat(limiter.acquire(a).allowed()).isFalse();
  }

  @Test
  void ipv6ClientsShareTheirSlash64() {
    RateLimiter limiter = limiter("2/s", 10);
    assertThat(limiter.acquire(ip("2001:db8:0:1::1")).allowed()).isTrue();
    assertThat(limiter.acquire(ip("2001:db8:0:1::2")).allowed()).isTrue();
    assertThat(limiter.acquire(ip("2001:db8:0:1:ffff::3")).allowed()).isFalse();
    assertThat(limiter.acquire(ip("2001:db8:0:2::1")).allowed()).isTrue();
    // IPv4-mapped is the IPv4 client
    assertThat(limiter.acquire(ip("198.51.100.1")).allowed()).isTrue();
    assertThat(limiter.acquire(ip("::ffff:198.51.100.1")).allowed()).isTrue();
    assertThat(limiter.acquire(ip("198.51.100.1")).allowed()).isFalse();
  }

  @Test
  void memoryIsBoundedUnderAFloodOfAddresses() throws UnknownHostException {
    RateLimiter limiter = limiter("5/s", 1_000);
    for (int i = 0; i < 200_000; i++) {
      InetAddress a = InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
      assertThat(limiter.acquire(a).allowed()).isTrue();
      assertThat(limiter.size()).isLessThanOrEqualTo(1_000);
    }
    assertThat(limiter.size()).isEqualTo(1_000);
    // once their period is over, idle buckets go as new clients come
    clock.addAndGet(1_001 * MS);
    for (int i = 0; i < 10; i++) {
      limiter.acquire(ip("192.0.2." + i));
    }
    assertThat(limiter.size()).isLessThanOrEqualTo(1_000 - 10);
  }

  @Test
  void theMostRecentlySeenKeepTheirCountWhenTheTableIsFull() {
    RateLimiter limiter = limiter("1/s", 3);
    InetAddress busy = ip("192.0.2.1");
    assertThat(limiter.acquire(busy).allowed()).isTrue();
    limiter.acquire(ip("192.0.2.2"));
    limiter.acquire(ip("192.0.2.3"));
    assertThat(limiter.acquire(busy).allowed()).isFalse(); // busy is now the most recent
    limiter.acquire(ip("192.0.2.4")); // evicts .2, the least recent
    assertThat(limiter.acquire(busy).allowed()).isFalse();
    assertThat(limiter.size()).isEqualTo(3);
  }

  @Test
  void unknownClientsShareOneBucket() {
    RateLimiter limiter = limiter("1/s", 3);
    assertThat(limiter.acquire(null).allowed()).isTrue();
    assertThat(limiter.acquire(null).allowed()).isFalse();
    assertThat(limiter.acquire(ip("255.255.255.255")).allowed()).isTrue();
  }
}
