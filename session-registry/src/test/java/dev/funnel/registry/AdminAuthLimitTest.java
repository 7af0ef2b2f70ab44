package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.RegistryOptions;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failed admin-token attempts are limited per source address: after the burst, every request from
 * that address gets 429 with Retry-After and a JSON error, even one with the right token, while
 * another address is unaffected; the source may try again once its bucket refills.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AdminAuthLimitTest {

  static final int BURST = 4;
  /**
   * A failure's token comes back after this long in the test that waits for it. Long enough that a
   * starved machine does not get one back between the requests that expect 429; the other tests
   * wait ten minutes for one, so no request of theirs can be let through by the clock.
   */
  static final long REFILL_MILLIS = 5_000;
  static final long NO_REFILL_MILLIS = 600_000;

  @TempDir
  Path state;

  Vertx vertx;
  RegistryService service;
  AdminApiVerticle api;
  HttpClient hostile;
  HttpClient honest;
  String token;
  long refillMillis;

  record Response(int status, MultiMap headers, Buffer body) {
  }

  @BeforeEach
  void setUp(Vertx vertx, TestInfo info) throws Exception {
    this.vertx = vertx;
    refillMillis = info.getTestMethod().map(m -> m.getName().equals("theSourceMayTryAgainOnceItsBucketRefills"))
        .orElse(false) ? REFILL_MILLIS : NO_REFILL_MILLIS;
    TestSupport.registerCodecs(vertx);
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain("funnel.test")
        .setAdminListen(new HostPort("127.0.0.1", 0))
        .setAdminAuthFailureBurst(BURST).setAdminAuthFailureRefillMillis(refillMillis);
    service = await(RegistryService.open(vertx, options));
    api = new AdminApiVerticle(options, service);
    await(vertx.deployVerticle(api));
    hostile = vertx.createHttpClient(new HttpClientOptions().setLocalAddress("127.0.0.2")
        .setDefaultHost("127.0.0.1").setDefaultPort(api.actualPort()));
    honest = vertx.createHttpClient(new HttpClientOptions().setLocalAddress("127.0.0.1")
        .setDefaultHost("127.0.0.1").setDefaultPort(api.actualPort()));
    token = Files.readString(state.resolve("admin-token"));
  }

  @AfterEach
  void tearDown() {
    await(hostile.close());
    await(honest.close());
    await(service.close());
  }

  @Test
  void aGuesserIsRefusedWith429EvenWithTheRightTokenWhileOthersAreServed() {
    for (int i = 0; i < BURST; i++) {
      assertThat(get(hostile, i % 2 == 0 ? "wrong-" + i : null).status()).as("attempt " + i).isEqualTo(401);
    }
    Response limited = get(hostile, "wrong-again");
    assertThat(limited.status()).isEqualTo(429);
    assertThat(Long.parseLong(limited.headers().get("Retry-After"))).isBetween(1L, (refillMillis + 999) / 1000);
    assertThat(limited.headers().get("Content-Type")).isEqualTo("application/json");
    JsonObject error = limited.body().toJsonObject().getJsonObject("error");
    assertThat(error.getString("code")).isEqualTo("TOO_MANY_REQUESTS");
    assertThat(error.getString("message")).contains("too many failed token attempts");

    assertThat(get(hostile, token).status()).as("the right token teaches a guesser nothing").isEqualTo(429);
    assertThat(get(honest, token).status()).as("another address").isEqualTo(200);
    assertThat(get(honest, "wrong").status()).isEqualTo(401);

    assertThat(count("wrong_token")).isEqualTo(BURST / 2 + 1);
    assertThat(count("no_token")).isEqualTo(BURST / 2);
    assertThat(count("rate_limited")).isEqualTo(2);
  }

  @Test
  void theSourceMayTryAgainOnceItsBucketRefills() throws Exception {
    for (int i = 0; i < BURST; i++) {
      get(hostile, "wrong");
    }
    assertThat(get(hostile, token).status()).isEqualTo(429);
    AtomicLong waited = new AtomicLong();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
    int status;
    do {
      Thread.sleep(50);
      waited.addAndGet(50);
      status = get(hostile, token).status();
    } while (status == 429 && System.nanoTime() < deadline);
    assertThat(status).isEqualTo(200);
    assertThat(get(hostile, "wrong").status()).as("one attempt came back").isEqualTo(401);
    assertThat(get(hostile, "wrong").status()).isEqualTo(429);
  }

  @Test
  void healthAndTheOpenApiDocumentAreNeverLimited() {
    for (int i = 0; i < BURST + 2; i++) {
      get(hostile, "wrong");
    }
    assertThat(call(hostile, "/health", null).status()).isEqualTo(200);
    assertThat(call(hostile, "/v1/openapi.yaml", null).status()).isEqualTo(200);
  }

  Response get(HttpClient client, String bearer) {
    return call(client, "/v1/tailnets", bearer);
  }

  Response call(HttpClient client, String path, String bearer) {
    RequestOptions request = new RequestOptions().setURI(path);
    if (bearer != null) {
      request.putHeader("Authorization", "Bearer " + bearer);
    }
    return await(client.request(request).compose(req -> req.send()
        .compose(resp -> resp.body().map(b -> new Response(resp.statusCode(), resp.headers(), b)))));
  }

  double count(String reason) {
    Counter counter = api.meterRegistry().find("funnel.admin.auth.refusals").tag("reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }
}
