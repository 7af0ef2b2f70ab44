package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.TestSupport.TestNode;
import dev.funnel.registry.store.H2ControlStore;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What clustered registries add to one: a change another registry made to the shared store is
 * picked up (here two services share one store file, as registries share PostgreSQL), and a node
 * with two sessions is resolved to the newest one that funnels the port, or to the other when a
 * frontend could not reach the newest one's gateway.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TwoRegistriesTest {

  private static final String DOMAIN = "funnel.test";
  private static final String WEB = "web.demo." + DOMAIN;

  @TempDir
  Path state;

  private Vertx vertx;
  private RegistryService one;
  private RegistryService two;
  private String twoDeployment;
  private final BlockingQueue<RouteChanged> changes = new LinkedBlockingQueue<>();

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    TestSupport.registerCodecs(vertx);
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain(DOMAIN).setLeaseMillis(60_000);
    one = await(RegistryService.open(vertx, options));
    two = await(RegistryService.create(vertx, options, H2ControlStore.open(state)));
    await(vertx.deployVerticle(new RegistryVerticle(options, one)));
    twoDeployment = await(vertx.deployVerticle(new RegistryVerticle(options, two)));
    await(vertx.eventBus().<RouteChanged>consumer(Addresses.ROUTES_CHANGED, m -> changes.add(m.body())).completion());
  }

  @AfterEach
  void tearDown() {
    await(two.close());
    await(one.close());
  }

  @Test
  void aChangeByOneRegistryIsReloadedByTheOther() throws Exception {
    await(one.createTailnet("demo", true, Set.of(443)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (two.tailnets().isEmpty()) {
      assertThat(System.nanoTime()).as("the other registry reloaded").isLessThan(deadline);
      Thread.sleep(5);
    }
    assertThat(two.tailnets()).extracting(t -> t.name()).containsExactly("demo");
    await(one.updateTailnet("demo", false, null));
    while (two.tailnets().get(0).funnel()) {
      assertThat(System.nanoTime()).as("the other registry reloaded again").isLessThan(deadline);
      Thread.sleep(5);
    }
    // Each registry tells frontends to drop cached routes: the writer at once, the other after reloading.
    int all = 0;
    RouteChanged change;
    while ((change = changes.poll(200, TimeUnit.MILLISECONDS)) != null) {
      all += change.host() == null ? 1 : 0;
    }
    assertThat(all).isGreaterThanOrEqualTo(4);
  }

  @Test
  void theNewestSessionThatFunnelsThePortServesAndAnUnreachableGatewayIsAvoided() throws Exception {
    await(vertx.undeploy(twoDeployment));   // one registry answers: live sessions are per service here
    await(one.createTailnet("demo", true, Set.of(443, 8443)));
    String key = await(one.createKey("demo", true, null)).key();
    TestNode web = new TestNode();
    NodeSession first = await(one.login(web.login(key, "web", List.of(443), "gw1")));
    NodeSession second = await(one.login(web.login(null, "web", List.of(), "gw2")));
    assertThat(second.epoch()).isGreaterThan(first.epoch());

    assertThat(await(resolve(null)).gatewayId()).as("gw2 is newer but does not funnel 443 yet").isEqualTo("gw1");
    await(vertx.eventBus().request(Addresses.REGISTRY_PORTS, new PortsUpdate(second.nodeId(), "gw2", second.epoch(),
        List.of(443))));
    assertThat(await(resolve(null)).gatewayId()).isEqualTo("gw2");
    assertThat(await(resolve("gw2")).gatewayId()).as("gw2 could not be reached").isEqualTo("gw1");
    assertThat(await(resolve("gw9")).gatewayId()).isEqualTo("gw2");
  }

  private io.vertx.core.Future<Route> resolve(String avoid) {
    DeliveryOptions delivery = new DeliveryOptions();
    if (avoid != null) {
      delivery.addHeader(Addresses.HEADER_AVOID_GATEWAY, avoid);
    }
    return vertx.eventBus().<Route>request(Addresses.REGISTRY_RESOLVE, new ResolveRequest(WEB, 443), delivery)
        .map(Message::body);
  }
}
