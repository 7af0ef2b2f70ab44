package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.random;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.Route;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Vertx;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Failing over on the control plane's word, long before any timeout: a gateway that leaves the
 * cluster, a node session the registry withdraws, a registry that leaves while a resolve waits.
 * The open timeout is far beyond the test's.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FailoverTest {

  Vertx vertx;
  Backend backend;
  Fakes fakes;
  FrontendVerticle frontend;

  @BeforeEach
  void deploy() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx());
    backend = new Backend();
    fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    frontend = new FrontendVerticle(new FrontendOptions()
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setOpenTimeoutMillis(120_000)
        .setResolveTimeoutMillis(120_000)
        .setAccessLog(false), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    backend.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aGatewayLeavingTheClusterFailsItsWaitingOpenOverToTheNodesOtherSession() throws Exception {
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 1));
    fakes.silentGateways.add("gw-1");
    tunnel(() -> {
      waitFor(() -> fakes.opens.size() == 1);
      fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-2", 2));
      vertx.eventBus().publish(Addresses.GATEWAY_LEFT, "gw-1");
    });
    assertThat(fakes.opens).hasSize(2);
    assertThat(fakes.resolves.get()).isEqualTo(2);
  }

  @Test
  void aWithdrawnSessionFailsItsWaitingOpenOver() throws Exception {
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 1));
    fakes.silentGateways.add("gw-1");
    tunnel(() -> {
      waitFor(() -> fakes.opens.size() == 1);
      fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-2", 2));
      vertx.eventBus().publish(Addresses.SESSION_WITHDRAWN, new SessionWithdrawn("node-7", NAME, "gw-1", 1).toJson());
    });
    assertThat(fakes.opens).hasSize(2);
  }

  @Test
  void aResolveWaitingOnARegistryThatLeftIsAskedAgain() throws Exception {
    fakes.registry.put(NAME, Fakes.SILENT);
    tunnel(() -> {
      waitFor(() -> fakes.resolves.get() == 1);
      fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-2", 2));
      vertx.eventBus().publish(Addresses.REGISTRY_LEFT, "registry-1");
    });
    assertThat(fakes.resolves.get()).isEqualTo(2);
  }

  /** One tunnel whose route is fixed by {@code meanwhile} while the connection is routing. */
  private void tunnel(ThrowingRunnable meanwhile) throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] down = random(5000, 3);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      meanwhile.run();
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(hello);
  }

  private static void waitFor(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(condition.getAsBoolean()).isTrue();
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }
}
