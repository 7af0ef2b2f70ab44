package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** On the real metrics setup ({@link FunnelVertx#options()}), the names Prometheus scrapes and the dashboards use. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PrometheusNamesTest {

  Vertx vertx;
  Backend backend;
  FrontendVerticle frontend;

  @BeforeEach
  void deploy() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.builder().with(FunnelVertx.options().setEventLoopPoolSize(1)).build());
    backend = new Backend();
    Fakes fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
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
  void theFrontendsMetersScrapeUnderTheirPrometheusNames() throws Exception {
    byte[] hello = Hellos.capture("curl-tls13").getBytes();
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(new byte[] {1, 2, 3});
        return got;
      }
    });
    List<String> accessLines = new CopyOnWriteArrayList<>();
    Handler access = new Handler() {
      @Override
      public void publish(LogRecord record) {
        accessLines.add(record.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Logger.getLogger("funnel.access").addHandler(access);
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).containsExactly(1, 2, 3);
    }
    await(node);
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write("GET /".getBytes());
      assertThat(readToEnd(client)).isEmpty();
    }

    assertThat(frontend.meterRegistry()).isInstanceOf(PrometheusMeterRegistry.class);
    PrometheusMeterRegistry prometheus = (PrometheusMeterRegistry) frontend.meterRegistry();
    String scrape = awaitScrape(prometheus, "funnel_tunnel_bytes_total{direction=\"outbound\",role=\"frontend\"} 3.0");
    assertThat(scrape).contains(
        "funnel_frontend_connections_total{outcome=\"routed\",port=\"443\"} 1.0",
        "funnel_frontend_connections_total{outcome=\"not_tls\",port=\"443\"} 1.0",
        "funnel_frontend_resolve_seconds_count{result=\"found\"} 1",
        "funnel_frontend_clienthello_bytes_count 1",
        "funnel_tunnel_setup_seconds_count{role=\"frontend\"} 1",
        "funnel_tunnels_active{role=\"frontend\"}",
        "funnel_tunnel_bytes_total{direction=\"inbound\",role=\"frontend\"} " + hello.length + ".0");
    Logger.getLogger("funnel.access").removeHandler(access);
    assertThat(accessLines).as("access log is off in these options").isEmpty();
  }

  /** The tunnel's byte counters move when it has closed on the frontend's side, just after the client saw EOF. */
  static String awaitScrape(PrometheusMeterRegistry prometheus, String line) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    String scrape = prometheus.scrape();
    while (!scrape.contains(line) && System.nanoTime() < deadline) {
      Thread.sleep(10);
      scrape = prometheus.scrape();
    }
    return scrape;
  }
}
