package dev.funnel.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.Pacer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TailnetShaperTest {

  final AtomicLong clock = new AtomicLong(5_000_000_000L);
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @Test
  void oneSecondOfTheCapGoesAtOnceThenSourcesWaitOffTheirDebt() {
    TailnetShaper shaper = new TailnetShaper(1_000, meters, clock::get);
    Pacer inbound = shaper.pacers("demo")[0];
    assertThat(inbound.delayNanos(600)).isZero();
    assertThat(inbound.delayNanos(400)).isZero();
    assertThat(inbound.delayNanos(500)).isEqualTo(TimeUnit.MILLISECONDS.toNanos(500));
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(500));
    assertThat(inbound.delayNanos(250)).as("debt paid, a new one").isEqualTo(TimeUnit.MILLISECONDS.toNanos(250));
    assertThat(shaped("inbound")).isEqualTo(0.75);
    assertThat(shaped("outbound")).isZero();
  }

  @Test
  void tunnelsOfOneTailnetShareItsBudgetAndOtherTailnetsHaveTheirOwn() {
    TailnetShaper shaper = new TailnetShaper(1_000, meters, clock::get);
    Pacer first = shaper.pacers("demo")[1];
    Pacer second = shaper.pacers("demo")[1];
    Pacer other = shaper.pacers("other")[1];
    assertThat(first.delayNanos(1_000)).isZero();
    assertThat(second.delayNanos(100)).as("the same budget").isPositive();
    assertThat(other.delayNanos(1_000)).isZero();
    assertThat(shaper.pacers("demo")[0].delayNanos(1_000)).as("each direction has its own").isZero();
  }

  @Test
  void noCapMeansNoPacing() {
    Pacer[] pacers = new TailnetShaper(0, meters, clock::get).pacers("demo");
    assertThat(pacers).containsExactly(Pacer.NONE, Pacer.NONE);
  }

  double shaped(String direction) {
    return meters.get("funnel.frontend.shaped").tag("direction", direction).counter().count();
  }
}
