package dev.funnel.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Route;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class RouteCacheTest {

  final AtomicLong now = new AtomicLong(1_000);

  static Route route(String host, int port, String gateway) {
    return new Route(host, port, "node-" + host, gateway, 1);
  }

  @Test
  void aRouteIsKeptForItsTtlAndNoLonger() {
    RouteCache cache = new RouteCache(10, 5_000, now::get);
    cache.put("a.t.d", 443, route("a.t.d", 443, "gw-1"));

    now.addAndGet(4_999);
    assertThat(cache.get("a.t.d", 443)).map(Route::gatewayId).contains("gw-1");
    now.addAndGet(1);
    assertThat(cache.get("a.t.d", 443)).isEmpty();
    assertThat(cache.size()).isZero();
  }

  @Test
  void portsAreSeparate() {
    RouteCache cache = new RouteCache(10, 5_000, now::get);
    cache.put("a.t.d", 443, route("a.t.d", 443, "gw-1"));

    assertThat(cache.get("a.t.d", 8443)).isEmpty();
  }

  @Test
  void aChangedHostDropsEveryPortOfItAndNothingElse() {
    RouteCache cache = new RouteCache(10, 5_000, now::get);
    cache.put("a.t.d", 443, route("a.t.d", 443, "gw-1"));
    cache.put("a.t.d", 8443, route("a.t.d", 8443, "gw-1"));
    cache.put("b.t.d", 443, route("b.t.d", 443, "gw-2"));

    cache.invalidate("a.t.d");

    assertThat(cache.get("a.t.d", 443)).isEmpty();
    assertThat(cache.get("a.t.d", 8443)).isEmpty();
    assertThat(cache.get("b.t.d", 443)).isPresent();

    cache.invalidate(null);
    assertThat(cache.size()).isZero();
  }

  @Test
  void theOldestEntryIsEvictedAtTheBound() {
    RouteCache cache = new RouteCache(3, 60_000, now::get);
    cache.put("a.t.d", 443, route("a.t.d", 443, "gw"));
    cache.put("b.t.d", 443, route("b.t.d", 443, "gw"));
    cache.put("c.t.d", 443, route("c.t.d", 443, "gw"));
    cache.put("a.t.d", 443, route("a.t.d", 443, "gw"));   // refreshed: now the youngest

    cache.put("d.t.d", 443, route("d.t.d", 443, "gw"));

    assertThat(cache.size()).isEqualTo(3);
    assertThat(cache.get("b.t.d", 443)).isEmpty();
    assertThat(cache.get("a.t.d", 443)).isPresent();
    assertThat(cache.get("d.t.d", 443)).isPresent();
  }

  @Test
  void aTtlOfZeroCachesNothing() {
    RouteCache cache = new RouteCache(10, 0, now::get);
    cache.put("a.t.d", 443, route("a.t.d", 443, "gw-1"));

    assertThat(cache.get("a.t.d", 443)).isEmpty();
  }
}
