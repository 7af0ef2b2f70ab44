package dev.funnel.common.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Every role's shared meters on ONE Prometheus registry, as in {@code funnel server} and {@code funnel demo}. */
class MetersTest {

  private static final List<String> ROLES = List.of(Meters.ROLE_FRONTEND, Meters.ROLE_GATEWAY, Meters.ROLE_NODE);

  @Test
  void everyRoleRegistersTheSharedNamesOnOneRegistryAndTheScrapeHasThemAll() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    registry.config().onMeterRegistrationFailed((id, reason) -> failures.add(id + ": " + reason));
    for (String role : ROLES) {
      Meters.tunnelSetup(registry, role).record(Duration.ofMillis(3));
      Meters.tunnelBytes(registry, role, Meters.INBOUND).increment(10);
      Meters.tunnelBytes(registry, role, Meters.OUTBOUND).increment(20);
      Meters.tunnelsActive(registry, role).incrementAndGet();
    }

    String scrape = registry.scrape();
    assertThat(failures).isEmpty();
    assertThat(scrape).contains("# TYPE funnel_tunnel_setup_seconds histogram");
    for (String role : ROLES) {
      assertThat(scrape).contains(
          "funnel_tunnel_setup_seconds_count{role=\"" + role + "\"} 1",
          "funnel_tunnel_bytes_total{direction=\"inbound\",role=\"" + role + "\"} 10.0",
          "funnel_tunnel_bytes_total{direction=\"outbound\",role=\"" + role + "\"} 20.0",
          "funnel_tunnels_active{role=\"" + role + "\"} 1.0");
    }
    assertThat(scrape).as("one bucket layout for every role")
        .contains("funnel_tunnel_setup_seconds_bucket{role=\"frontend\",le=\"30.0\"}")
        .contains("funnel_tunnel_setup_seconds_bucket{role=\"gateway\",le=\"30.0\"}");
  }

  @Test
  void theActiveCountIsSharedPerRegistryAndRole() {
    PrometheusMeterRegistry one = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    PrometheusMeterRegistry two = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    AtomicInteger a = Meters.tunnelsActive(one, Meters.ROLE_NODE);
    assertThat(Meters.tunnelsActive(one, Meters.ROLE_NODE)).isSameAs(a);
    assertThat(Meters.tunnelsActive(one, Meters.ROLE_FRONTEND)).isNotSameAs(a);
    assertThat(Meters.tunnelsActive(two, Meters.ROLE_NODE)).isNotSameAs(a);
    a.addAndGet(2);
    assertThat(one.get("funnel.tunnels.active").tag("role", "node").gauge().value()).isEqualTo(2);
    assertThat(two.get("funnel.tunnels.active").tag("role", "node").gauge().value()).isZero();
  }
}
