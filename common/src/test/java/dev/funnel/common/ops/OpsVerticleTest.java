package dev.funnel.common.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.HostPort;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The operator's endpoint on the real metrics setup: readiness flips, failing probes, the scrape. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OpsVerticleTest {

  private Vertx vertx;
  private HttpClient http;

  @BeforeEach
  void setUp() {
    vertx = FunnelVertx.local();
    http = vertx.createHttpClient();
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void readyIsFalseUntilTheFlagIsSetAndTrueAfter() throws Exception {
    AtomicBoolean bound = new AtomicBoolean();
    OpsVerticle ops = new OpsVerticle(new HostPort("127.0.0.1", 0)).ready("listeners", bound::get);
    vertx.deployVerticle(ops).await(10, TimeUnit.SECONDS);

    Answer before = get(ops, "/ready");
    assertThat(before.status()).isEqualTo(503);
    assertThat(check(before, "listeners")).isEqualTo("DOWN");
    assertThat(get(ops, "/health").status()).as("alive while not ready").isEqualTo(200);

    bound.set(true);
    Answer after = get(ops, "/ready");
    assertThat(after.status()).isEqualTo(200);
    assertThat(check(after, "listeners")).isEqualTo("UP");
  }

  @Test
  void aFailingOrSilentProbeMakesItsEndpointDown() throws Exception {
    AtomicBoolean storeUp = new AtomicBoolean(true);
    OpsVerticle ops = new OpsVerticle(new HostPort("127.0.0.1", 0))
        .health("store", () -> storeUp.get() ? Future.succeededFuture(true) : Future.failedFuture("unreachable"))
        .readyProbe("store", () -> storeUp.get() ? Future.succeededFuture(true) : Promise.<Boolean>promise().future())
        .ready("listeners", () -> true);
    vertx.deployVerticle(ops).await(10, TimeUnit.SECONDS);
    assertThat(get(ops, "/health").status()).isEqualTo(200);
    assertThat(get(ops, "/ready").status()).isEqualTo(200);

    storeUp.set(false);
    Answer health = get(ops, "/health");
    assertThat(health.status()).isEqualTo(503);
    assertThat(check(health, "store")).isEqualTo("DOWN");
    assertThat(check(health, "process")).isEqualTo("UP");
    Answer ready = get(ops, "/ready");
    assertThat(ready.status()).as("a probe that never answers times out as down").isEqualTo(503);
    assertThat(check(ready, "store")).isEqualTo("DOWN");

    storeUp.set(true);
    assertThat(get(ops, "/health").status()).isEqualTo(200);
  }

  @Test
  void metricsScrapeCarriesTheEventLoopDelayAndOpenFiles() throws Exception {
    OpsVerticle ops = new OpsVerticle(new HostPort("127.0.0.1", 0));
    vertx.deployVerticle(ops).await(10, TimeUnit.SECONDS);
    DataPlane.group();   // the data plane's loops are probed once the process has them
    String scrape = "";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!(scrape.contains("funnel_eventloop_delay_seconds_count{plane=\"control\"")
        && scrape.contains("funnel_eventloop_delay_seconds_count{plane=\"data\""))
        && System.nanoTime() < deadline) {
      Thread.sleep(EventLoopDelay.PERIOD_MILLIS);
      scrape = get(ops, "/metrics").body();
    }
    assertThat(scrape)
        .contains("# TYPE funnel_eventloop_delay_seconds histogram")
        .contains("funnel_eventloop_delay_seconds_bucket{plane=\"control\",le=\"0.001\"}")
        .contains("funnel_eventloop_delay_seconds_bucket{plane=\"data\",le=\"0.001\"}")
        .contains("process_files_open_files")
        .contains("jvm_memory_used_bytes");
  }

  private record Answer(int status, String body) {
  }

  private Answer get(OpsVerticle ops, String path) throws Exception {
    return http.request(HttpMethod.GET, ops.actualPort(), "127.0.0.1", path)
        .compose(request -> request.send()
            .compose(response -> response.body().map(body -> new Answer(response.statusCode(), body.toString()))))
        .await(10, TimeUnit.SECONDS);
  }

  /** The status of one named check in a vertx-health-check answer. */
  private static String check(Answer answer, String id) {
    return new JsonObject(Buffer.buffer(answer.body())).getJsonArray("checks").stream()
        .map(JsonObject.class::cast)
        .filter(c -> id.equals(c.getString("id")))
        .map(c -> c.getString("status"))
        .findFirst().orElse("absent");
  }
}
