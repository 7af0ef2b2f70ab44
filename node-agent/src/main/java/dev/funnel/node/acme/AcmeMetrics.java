package dev.funnel.node.acme;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The node's ACME meters, one set per registry, registered with the node's other meters (so every
 * node scrape shows them, at zero without {@code --acme}). Labels are bounded: the challenge type
 * and the outcome.
 *
 * <ul>
 *   <li>{@code funnel.node.acme.orders{challenge,outcome}}: orders by challenge type
 *       ({@code tls-alpn-01}, {@code dns-01}) and outcome ({@code issued}, {@code failed},
 *       {@code rate_limited});</li>
 *   <li>{@code funnel.node.certificate.expiry}: seconds until the ACME certificate expires (NaN
 *       before there is one).</li>
 * </ul>
 */
public final class AcmeMetrics {

  private static final Map<MeterRegistry, AcmeMetrics> BY_REGISTRY = new WeakHashMap<>();

  private final MeterRegistry registry;
  private final AtomicLong notAfterEpochSeconds = new AtomicLong();

  private AcmeMetrics(MeterRegistry registry) {
    this.registry = registry;
    Gauge.builder("funnel.node.certificate.expiry", notAfterEpochSeconds,
            v -> v.get() == 0 ? Double.NaN : v.get() - Instant.now().getEpochSecond())
        .description("Seconds until the node's ACME certificate expires").baseUnit("seconds")
        .register(registry);
    for (String challenge : AcmeSettings.DEFAULT_CHALLENGES) {
      for (String outcome : new String[] {"issued", "failed", "rate_limited"}) {
        order(challenge, outcome);
      }
    }
  }

  /** The meters on {@code registry}, registered on first use. */
  public static AcmeMetrics on(MeterRegistry registry) {
    synchronized (BY_REGISTRY) {
      return BY_REGISTRY.computeIfAbsent(registry, AcmeMetrics::new);
    }
  }

  Counter order(String challenge, String outcome) {
    return Counter.builder("funnel.node.acme.orders").description("ACME orders by challenge and outcome")
        .tag("challenge", challenge).tag("outcome", outcome).register(registry);
  }

  void expiresAt(Instant notAfter) {
    notAfterEpochSeconds.set(notAfter.getEpochSecond());
  }
}
