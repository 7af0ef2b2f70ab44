package dev.funnel.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/** The DNS counters' labels: bounded sets, the common series at zero from the start. */
class DnsMetricsTest {

  @ParameterizedTest
  @CsvSource({
      "A, A", "AAAA, AAAA", "HTTPS, HTTPS", "TXT, TXT", "CAA, CAA", "SOA, SOA", "NS, NS", "ANY, ANY",
      "MX, other", "CNAME, other", "AXFR, other", "SVCB, other", "PTR, other"})
  void aQueryTypeIsItsNameOrOther(String type, String label) {
    assertThat(DnsMetrics.typeLabel(Type.value(type))).isEqualTo(label);
  }

  @ParameterizedTest
  @CsvSource({
      "0, NOERROR", "3, NXDOMAIN", "5, REFUSED", "2, SERVFAIL", "4, NOTIMP", "16, BADVERS", "1, FORMERR",
      "9, other", "6, other", "23, other"})
  void anRcodeIsItsMnemonicOrOther(int rcode, String label) {
    assertThat(DnsMetrics.rcodeLabel(rcode)).isEqualTo(label);
  }

  @Test
  void everyCommonSeriesIsThereAtZeroBeforeTheFirstQuery() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    new DnsMetrics(registry);
    // 2 transports x 9 types x 4 RCODEs
    assertThat(registry.find("funnel.dns.queries").counters()).hasSize(72)
        .allSatisfy(c -> assertThat(c.count()).isZero());
    assertThat(registry.get("funnel.dns.queries").tag("transport", "udp").tag("type", "other").tag("rcode", "SERVFAIL")
        .counter().count()).isZero();
    assertThat(registry.find("funnel.dns.dropped").counters()).extracting(c -> c.getId().getTag("transport") + "/"
        + c.getId().getTag("reason")).containsExactlyInAnyOrder("udp/malformed", "udp/rate_limited", "tcp/malformed");
    assertThat(registry.find("funnel.dns.truncated").counters()).extracting(c -> c.getId().getTag("reason"))
        .containsExactlyInAnyOrder("too_large", "rate_limited");
  }

  @Test
  void eachReplyIsCountedUnderItsTypeAndRcodeAndTheSetStaysBounded() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DnsMetrics metrics = new DnsMetrics(registry);
    metrics.answered("udp", Type.AAAA, Rcode.NXDOMAIN);
    metrics.answered("tcp", Type.CAA, Rcode.NOERROR);
    metrics.answered("udp", Type.A, Answers.BADVERS);
    metrics.answered("udp", Type.A, Answers.BADVERS);
    metrics.dropped("udp", DnsMetrics.Dropped.RATE_LIMITED);
    metrics.dropped("tcp", DnsMetrics.Dropped.MALFORMED);
    metrics.truncated(DnsMetrics.Truncated.TOO_LARGE);
    assertThat(count(registry, "udp", "AAAA", "NXDOMAIN")).isEqualTo(1);
    assertThat(count(registry, "tcp", "CAA", "NOERROR")).isEqualTo(1);
    assertThat(count(registry, "udp", "A", "BADVERS")).isEqualTo(2);
    assertThat(registry.get("funnel.dns.dropped").tag("transport", "udp").tag("reason", "rate_limited").counter()
        .count()).isEqualTo(1);
    assertThat(registry.get("funnel.dns.dropped").tag("transport", "tcp").tag("reason", "malformed").counter()
        .count()).isEqualTo(1);
    assertThat(registry.get("funnel.dns.truncated").tag("reason", "too_large").counter().count()).isEqualTo(1);

    // Every type number and every RCODE number there is: still at most 2 x 9 x 8 series.
    for (int type = 0; type < 65_536; type += 7) {
      metrics.answered("udp", type, type % 4096);
      metrics.answered("tcp", type, type % 24);
    }
    Set<String> types = new HashSet<>();
    Set<String> rcodes = new HashSet<>();
    for (Meter m : registry.find("funnel.dns.queries").meters()) {
      types.add(m.getId().getTag("type"));
      rcodes.add(m.getId().getTag("rcode"));
    }
    assertThat(types).hasSize(9);
    assertThat(rcodes).hasSize(8);
    assertThat(registry.find("funnel.dns.queries").counters()).hasSizeLessThanOrEqualTo(2 * 9 * 8);
  }

  private static double count(SimpleMeterRegistry registry, String transport, String type, String rcode) {
    Counter c = registry.get("funnel.dns.queries").tag("transport", transport).tag("type", type).tag("rcode", rcode)
        .counter();
    return c.count();
  }
}
