package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.random;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.ConnectException;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real frontend's drain on a clean stop: its tunnel keeps carrying bytes both ways while new
 * connections are refused (the drain's decision and waits alone: common's DrainTest).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FrontendDrainTest {

  Vertx vertx;
  Backend backend;

  @BeforeEach
  void start() {
    vertx = FunnelVertx.withCodecs(Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (backend != null) {
      backend.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /**
   * A real frontend with a tunnel open: the drain closes the public listener at once (a new
   * connection is refused), the tunnel carries bytes both ways meanwhile, and the drain ends when
   * the tunnel does.
   */
  @Test
  void aRealFrontendRefusesNewConnectionsAndWaitsForItsTunnel() throws Exception {
    backend = new Backend();
    Fakes fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 3));
    FrontendVerticle frontend = new FrontendVerticle(new FrontendOptions()
        .setFrontendId("fe-drain")
        .setDomain("funnel.localhost")
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setDrainTimeoutSeconds(20), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
    int port = frontend.actualPorts().get(443);

    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] up = random(64 * 1024, 1);
    byte[] down = random(256 * 1024, 2);
    CompletableFuture<Socket> node = backend.async(() -> {
      Socket s = backend.accept();
      readExactly(s, hello.length);
      return s;
    });
    try (Socket client = Backend.connect(port)) {
      client.getOutputStream().write(hello);
      Socket nodeSide = await(node);

      Future<Integer> drained = frontend.drain();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        try (Socket late = Backend.connect(port)) {
          assertThat(System.nanoTime()).as("the listener closed").isLessThan(deadline);
          Thread.sleep(20);
        } catch (ConnectException refused) {
          break;
        }
      }
      assertThatThrownBy(() -> Backend.connect(port).close()).isInstanceOf(ConnectException.class);

      client.getOutputStream().write(up);
      assertThat(readExactly(nodeSide, up.length)).as("the tunnel still carries the client's bytes").isEqualTo(up);
      nodeSide.getOutputStream().write(down);
      assertThat(readExactly(client, down.length)).as("and the node's").isEqualTo(down);
      assertThat(drained.isComplete()).as("a tunnel is still open").isFalse();

      nodeSide.close();
      assertThat(readToEnd(client)).isEmpty();
      assertThat(drained.isComplete()).as("half-closed: the client may still send").isFalse();
      client.close();
      assertThat(drained.await(10, TimeUnit.SECONDS)).as("connections still open when the drain ended").isZero();
    }
  }

  /**
   * A tunnel still open when the drain's time is up is closed then, by the drain: the client reads
   * the end of its connection, and by the time the drain completes its tunnel has ended (its
   * access line written). Until 2026-12-08 the drain only said so, and the tunnel went on.
   */
  @Test
  void aTunnelStillOpenWhenTheTimeIsUpIsClosedByTheDrain() throws Exception {
    backend = new Backend();
    Fakes fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 3));
    FrontendVerticle frontend = new FrontendVerticle(new FrontendOptions()
        .setFrontendId("fe-drain-cut")
        .setDomain("funnel.localhost")
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setDrainTimeoutSeconds(1), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
    int port = frontend.actualPorts().get(443);

    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    CompletableFuture<Socket> node = backend.async(() -> {
      Socket s = backend.accept();
      readExactly(s, hello.length);
      return s;
    });
    try (Socket client = Backend.connect(port)) {
      client.getOutputStream().write(hello);
      Socket nodeSide = await(node);
      byte[] down = random(1024, 3);
      nodeSide.getOutputStream().write(down);
      assertThat(readExactly(client, down.length)).as("the tunnel is up").isEqualTo(down);
      double active = frontend.meterRegistry().get("funnel.tunnels.active").tag("role", "frontend").gauge().value();
      assertThat(active).isEqualTo(1);

      long started = System.nanoTime();
      assertThat(frontend.drain().await(10, TimeUnit.SECONDS)).as("still open when the time was up").isEqualTo(1);
      assertThat(System.nanoTime() - started).as("the drain's time, not much more")
          .isLessThan(TimeUnit.SECONDS.toNanos(1) + TimeUnit.MILLISECONDS.toNanos(OpenConnections.CLOSED_TUNNELS_MILLIS));
      assertThat(frontend.meterRegistry().get("funnel.tunnels.active").tag("role", "frontend").gauge().value())
          .as("the tunnel ended (its access line written) before the drain completed").isZero();
      client.setSoTimeout(5_000);
      try {
        assertThat(readToEnd(client)).as("the client's connection was closed").isEmpty();
      } catch (java.net.SocketException reset) {
        // closed with a reset: closed all the same
      }
      nodeSide.close();
    }
  }
}
