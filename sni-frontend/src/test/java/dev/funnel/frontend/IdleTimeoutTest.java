package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Vertx;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The public connection's idle timeout: a tunnel where neither side says anything is closed, both ends. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class IdleTimeoutTest {

  Vertx vertx;
  Backend backend;
  FrontendVerticle frontend;

  @BeforeEach
  void deploy() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx());
    backend = new Backend();
    Fakes fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 1));
    frontend = new FrontendVerticle(new FrontendOptions()
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setIdleTimeoutSeconds(1)
        .setAccessLog(false), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    backend.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aSilentTunnelIsClosedAfterTheIdleTimeoutOnBothSides() throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    long started = System.nanoTime();
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      try (Socket node = backend.accept()) {
        assertThat(readExactly(node, hello.length)).isEqualTo(hello);
        assertThat(readToEnd(client)).isEmpty();
        assertThat(readToEnd(node)).isEmpty();
      }
    }
    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(took).isBetween(900L, 8_000L);
  }
}
