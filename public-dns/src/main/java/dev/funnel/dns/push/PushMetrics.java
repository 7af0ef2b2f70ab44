package dev.funnel.dns.push;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;

/**
 * {@code funnel_dns_push_total{outcome}}: every push (one comparison of the zone with what it should
 * hold, and the updates it sent) counted once by how it ended, a {@link PushOutcome}; and
 * {@code funnel_dns_push_changes_total}: the RRsets changed at the primary. Bounded labels only;
 * every outcome is registered at start (0 until seen).
 */
final class PushMetrics {

  private final Map<PushOutcome, Counter> pushes = new EnumMap<>(PushOutcome.class);
  private final Counter changes;

  PushMetrics(MeterRegistry registry) {
    for (PushOutcome outcome : PushOutcome.values()) {
      pushes.put(outcome, Counter.builder("funnel.dns.push")
          .description("RFC 2136 pushes to the primary DNS server by how they ended")
          .tag("outcome", outcome.label())
          .register(registry));
    }
    changes = Counter.builder("funnel.dns.push.changes")
        .description("RRsets the RFC 2136 pusher replaced or removed at the primary")
        .register(registry);
  }

  void count(PushOutcome outcome) {
    pushes.get(outcome).increment();
  }

  void changed(int rrsets) {
    changes.increment(rrsets);
  }
}
