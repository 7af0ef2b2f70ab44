package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.concat;
import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.random;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.Socket;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shape of {@code funnel server}: the client's channel and the node's (the fake in-JVM
 * gateway's dial) are registered on the data plane's loops one after the other, so they normally
 * live on different loops, and the tunnel between them crosses threads both ways, under
 * back-pressure, with a half-close.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CrossEventLoopTest {

  Vertx vertx;
  Backend backend;
  Fakes fakes;
  FrontendVerticle frontend;

  @BeforeEach
  void deploy() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx(new VertxOptions().setEventLoopPoolSize(4)));
    backend = new Backend();
    fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 1));
    frontend = new FrontendVerticle(new FrontendOptions()
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setAccessLog(false), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    backend.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aTunnelAcrossEventLoopsCarriesBothWaysAndAHalfClose() throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] up = random(1024 * 1024, 21);
    byte[] down = random(2 * 1024 * 1024 + 3, 22);
    CompletableFuture<Void> helloArrived = new CompletableFuture<>();
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] gotHello = readExactly(s, hello.length);
        helloArrived.complete(null);
        byte[] rest = readToEnd(s);
        s.getOutputStream().write(down);
        return concat(gotHello, rest);
      }
    });
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      await(helloArrived);
      client.getOutputStream().write(up);
      client.shutdownOutput();
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(concat(hello, up));
  }
}
