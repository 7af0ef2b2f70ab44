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

  static final int IDLE_SECONDS = 2;

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
        .setIdleTimeoutSeconds(IDLE_SECONDS)
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
    assertThat(took).isBetween(IDLE_SECONDS * 1000L - 100, 12_000L);
  }

  /**
   * Bytes one way only keep a tunnel open: first only the node writes (the frontend's writes to the
   * client), then only the client (its reads), each for longer than the timeout; then silence ends it.
   */
  @Test
  @Timeout(value = 40, unit = TimeUnit.SECONDS)
  void bytesEitherWayKeepATunnelOpen() throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    long phaseMillis = IDLE_SECONDS * 1500L;
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      try (Socket node = backend.accept()) {
        assertThat(readExactly(node, hello.length)).isEqualTo(hello);
        int sent = 0;
        for (long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(phaseMillis); System.nanoTime() < end; sent++) {
          node.getOutputStream().write('d');
          assertThat(readExactly(client, 1)).as("downstream byte %d", sent).containsExactly('d');
          Thread.sleep(250);
        }
        sent = 0;
        for (long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(phaseMillis); System.nanoTime() < end; sent++) {
          client.getOutputStream().write('u');
          assertThat(readExactly(node, 1)).as("upstream byte %d", sent).containsExactly('u');
          Thread.sleep(250);
        }
        assertThat(readToEnd(client)).as("then silent: closed").isEmpty();
        assertThat(readToEnd(node)).isEmpty();
      }
    }
  }
}
