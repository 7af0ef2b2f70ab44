package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.registry.ConsoleFigures.Figures;
import dev.funnel.registry.ConsoleFigures.Sample;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Live figures: rates over the last 10 s, refusals by reason over the last minute, from the meters. */
class ConsoleFiguresTest {

  static final long S = 1_000_000_000L;

  static Sample frontend(long second, double open, double setups, Map<String, Double> outcomes) {
    return new Sample(second * S, open, setups, outcomes, ConsoleFigures.SOURCE_FRONTEND);
  }

  @Test
  void noHistoryMeansNoRateAndNoRefusalsYet() {
    Figures f = ConsoleFigures.compute(List.of(), frontend(100, 3, 50, Map.of("no_route", 4.0)));
    assertThat(f.tunnelsOpen()).isEqualTo(3.0);
    assertThat(f.tunnelsPerSecond()).isNull();
    assertThat(f.refusals()).isEmpty();
  }

  @Test
  void theRateIsOverTheLastTenSecondsAndRefusalsOverTheLastMinute() {
    List<Sample> history = List.of(
        frontend(0, 0, 0, Map.of("routed", 0.0, "no_route", 1.0)),              // > 60 s old: ignored
        frontend(45, 1, 10, Map.of("routed", 9.0, "no_route", 2.0)),            // minute base
        frontend(95, 2, 100, Map.of("routed", 95.0, "no_route", 2.0, "funnel_off", 0.0)),  // rate base
        frontend(103, 2, 180, Map.of("routed", 170.0, "no_route", 5.0, "funnel_off", 1.0)));
    Figures f = ConsoleFigures.compute(history, frontend(105, 4, 200, Map.of("routed", 190.0, "no_route", 7.0,
        "funnel_off", 1.0, "client_closed", 3.0, "rate_limited", 0.0)));
    assertThat(f.tunnelsOpen()).isEqualTo(4.0);
    assertThat(f.tunnelsPerSecond()).isEqualTo(10.0);                 // (200 - 100) / 10 s
    assertThat(f.refusals()).containsExactly(Map.entry("funnel_off", 1L), Map.entry("no_route", 5L));
    assertThat(f.refusalSeconds()).isEqualTo(60);
  }

  @Test
  void metersRegisteredOnFirstUseCountFromZeroAgainstOlderSamples() {
    // The frontend registers its connection counters and setup timer at its first connection: the
    // samples before it read the registry's meters and no setups.
    Sample before = new Sample(0, null, null, Map.of("no_route", 7.0), ConsoleFigures.SOURCE_REGISTRY);
    Figures f = ConsoleFigures.compute(List.of(before), frontend(5, 1, 10, Map.of("routed", 9.0, "no_route", 1.0)));
    assertThat(f.refusals()).containsExactly(Map.entry("no_route", 1L));
    assertThat(f.tunnelsPerSecond()).isEqualTo(2.0);
  }

  @Test
  void withoutAFrontendTheRegistrysResolveRefusalsAreShown() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Counter found = Counter.builder("funnel.registry.resolves").tag("result", "found").register(registry);
    Counter off = Counter.builder("funnel.registry.resolves").tag("result", "funnel_off").register(registry);
    AtomicLong clock = new AtomicLong(0);
    ConsoleFigures figures = new ConsoleFigures(registry, clock::get);
    figures.record();
    found.increment(5);
    off.increment(2);
    clock.set(3 * S);
    Figures f = figures.now();
    assertThat(f.source()).isEqualTo(ConsoleFigures.SOURCE_REGISTRY);
    assertThat(f.tunnelsOpen()).isNull();
    assertThat(f.tunnelsPerSecond()).isNull();
    assertThat(f.refusals()).containsExactly(Map.entry("funnel_off", 2L));
  }

  @Test
  void theFrontendsMetersAreReadWhenPresent() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicLong clock = new AtomicLong(0);
    var open = dev.funnel.common.ops.Meters.tunnelsActive(registry, "frontend");
    var setup = dev.funnel.common.ops.Meters.tunnelSetup(registry, "frontend");
    Counter refused = Counter.builder("funnel.frontend.connections").tags("port", "443", "outcome", "no_route")
        .register(registry);
    ConsoleFigures figures = new ConsoleFigures(registry, clock::get);
    figures.record();
    open.set(2);
    for (int i = 0; i < 8; i++) {
      setup.record(java.time.Duration.ofMillis(5));
    }
    refused.increment(3);
    clock.set(4 * S);
    Figures f = figures.now();
    assertThat(f.source()).isEqualTo(ConsoleFigures.SOURCE_FRONTEND);
    assertThat(f.tunnelsOpen()).isEqualTo(2.0);
    assertThat(f.tunnelsPerSecond()).isEqualTo(2.0);
    assertThat(f.refusals()).containsExactly(Map.entry("no_route", 3L));
  }
}
