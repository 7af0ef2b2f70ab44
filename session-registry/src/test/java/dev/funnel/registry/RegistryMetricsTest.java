package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static dev.funnel.registry.TestSupport.awaitFailure;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.TestSupport.TestNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.micrometer.backends.BackendRegistries;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The registry's meters on the real metrics setup, moved by real requests on the event bus. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RegistryMetricsTest {

  @TempDir
  Path state;

  private Vertx vertx;
  private RegistryService service;

  @AfterEach
  void tearDown() throws Exception {
    if (service != null) {
      await(service.close());
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void routesTailnetsResolvesAndLoginsAreCounted() {
    vertx = FunnelVertx.local();
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain("funnel.test");
    service = await(RegistryService.open(vertx, options));
    await(vertx.deployVerticle(new RegistryVerticle(options, service)));
    MeterRegistry meters = BackendRegistries.getDefaultNow();
    assertThat(meters).isNotNull();
    assertThat(count(meters, "funnel.registry.logins", "bad_key")).as("registered up front").isZero();
    assertThat(gauge(meters, "funnel.registry.routes")).isZero();

    await(service.createTailnet("demo", true, Set.of(443)));
    String key = await(service.createKey("demo", true, null)).key();
    NodeSession session = await(login(new TestNode(), key));
    awaitFailure(login(new TestNode(), "fnl-auth-not-a-key"));
    await(resolve("web.demo.funnel.test", 443));
    awaitFailure(resolve("nobody.demo.funnel.test", 443));
    awaitFailure(resolve("web.demo.funnel.test", 8443));

    assertThat(gauge(meters, "funnel.registry.routes")).isEqualTo(1);
    assertThat(gauge(meters, "funnel.registry.tailnets")).isEqualTo(1);
    assertThat(count(meters, "funnel.registry.logins", "ok")).isEqualTo(1);
    assertThat(count(meters, "funnel.registry.logins", "bad_key")).isEqualTo(1);
    assertThat(count(meters, "funnel.registry.resolves", "found")).isEqualTo(1);
    assertThat(count(meters, "funnel.registry.resolves", "no_route")).isEqualTo(1);
    assertThat(count(meters, "funnel.registry.resolves", "port_not_allowed")).isEqualTo(1);

    await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED,
        new SessionClosed(session.nodeId(), "gw1", session.epoch())));
    assertThat(gauge(meters, "funnel.registry.routes")).isZero();
  }

  private io.vertx.core.Future<NodeSession> login(TestNode node, String key) {
    return vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN, node.login(key, "web", List.of(443), "gw1"))
        .map(Message::body);
  }

  private io.vertx.core.Future<Object> resolve(String host, int port) {
    return vertx.eventBus().request(Addresses.REGISTRY_RESOLVE, new ResolveRequest(host, port)).map(Message::body);
  }

  private static double count(MeterRegistry meters, String name, String result) {
    return meters.get(name).tag("result", result).counter().count();
  }

  private static double gauge(MeterRegistry meters, String name) {
    return meters.get(name).gauge().value();
  }
}
