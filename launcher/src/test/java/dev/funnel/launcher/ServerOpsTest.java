package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.HostPort;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's ops endpoint as {@code funnel server} wires it ({@link ServerStack}): ready and healthy
 * once started, and both {@code /health} and {@code /ready} turn 503 when the registry's store stops
 * answering (here: the real embedded store, closed under the running server).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ServerOpsTest {

  @TempDir
  Path state;

  private Vertx vertx;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void tearDown() throws Exception {
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void healthAndReadinessFollowTheStore() throws Exception {
    vertx = FunnelVertx.local();
    HostPort any = new HostPort("127.0.0.1", 0);
    ServerStack stack = ServerStack.start(vertx, new ServerStack.Settings(state, "funnel.localhost",
        Map.of(443, any), any, any, any, true, 5_000));
    int ops = stack.metricsPort();

    assertThat(status(ops, "/health")).isEqualTo(200);
    assertThat(status(ops, "/ready")).isEqualTo(200);
    assertThat(check(ops, "/ready", "listeners")).isEqualTo("UP");
    assertThat(check(ops, "/health", "store")).isEqualTo("UP");

    stack.registry().close().await(10, TimeUnit.SECONDS);

    assertThat(status(ops, "/health")).isEqualTo(503);
    assertThat(check(ops, "/health", "store")).isEqualTo("DOWN");
    assertThat(check(ops, "/health", "process")).isEqualTo("UP");
    assertThat(status(ops, "/ready")).isEqualTo(503);
    assertThat(check(ops, "/ready", "store")).isEqualTo("DOWN");
    assertThat(status(ops, "/metrics")).as("metrics are still served").isEqualTo(200);
  }

  private int status(int port, String path) throws Exception {
    return get(port, path).statusCode();
  }

  private String check(int port, String path, String id) throws Exception {
    return new JsonObject(get(port, path).body()).getJsonArray("checks").stream()
        .map(JsonObject.class::cast)
        .filter(c -> id.equals(c.getString("id")))
        .map(c -> c.getString("status"))
        .findFirst().orElse("absent");
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
