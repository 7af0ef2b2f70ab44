package dev.funnel.dns;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;

/**
 * {@code funnel_dns_queries_total{transport,outcome}}: every query counted once, by how it ended.
 * Labels are bounded: {@code transport} {@code udp} or {@code tcp}, {@code outcome} an
 * {@link Outcome}; never a client address or a name. Every pair is registered at start, so a
 * scrape shows the family (at 0) before the first query.
 */
final class DnsMetrics {

  static final String UDP = "udp";
  static final String TCP = "tcp";

  private final Map<Outcome, Counter> udp = new EnumMap<>(Outcome.class);
  private final Map<Outcome, Counter> tcp = new EnumMap<>(Outcome.class);

  DnsMetrics(MeterRegistry registry) {
    for (Outcome outcome : Outcome.values()) {
      udp.put(outcome, counter(registry, UDP, outcome));
      tcp.put(outcome, counter(registry, TCP, outcome));
    }
  }

  void count(String transport, Outcome outcome) {
    (TCP.equals(transport) ? tcp : udp).get(outcome).increment();
  }

  private static Counter counter(MeterRegistry registry, String transport, Outcome outcome) {
    return Counter.builder("funnel.dns.queries")
        .description("DNS queries by transport and how they ended")
        .tag("transport", transport)
        .tag("outcome", outcome.label())
        .register(registry);
  }
}
