package dev.funnel.terminator.gate;

import static dev.funnel.terminator.gate.GateRig.await;
import static dev.funnel.terminator.gate.GateRig.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.gate.CidrSet;
import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.NetworkRule;
import dev.funnel.common.gate.Rate;
import dev.funnel.common.gate.RateLimiter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Each gate handler on a bare Router, reached by a real HttpClient through a relay that writes the
 * PROXY header for a chosen client address (the terminator's own set-up). The backend route
 * counts what reached it and answers the SHA-256 and length of the body it got.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
class GateHandlersTest {

  static Vertx vertx;
  static GateRig rig;
  static final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  static final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  static final List<RoutingContext> held = new CopyOnWriteArrayList<>();
  static final Map<String, GateDecisions> decisions = new ConcurrentHashMap<>();
  static ConcurrencyCap concurrency;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    router.route("/cidr/*")
        .handler(new NetworkGate(new NetworkRule(CidrSet.parse("127.0.0.0/8, 2001:db8::/32"),
            CidrSet.parse("127.0.0.2, 2001:db8:bad::/48")), decisions("/cidr/")))
        .handler(ctx -> backend(ctx, "cidr"));
    router.route("/rate/*")
        .handler(new RateGate(new RateLimiter(Rate.parse("20/m")), decisions("/rate/")))
        .handler(ctx -> backend(ctx, "rate"));
    router.route("/body/*")
        .handler(new BodyCap(1000, decisions("/body/")))
        .handler(ctx -> backend(ctx, "body"));
    concurrency = new ConcurrencyCap(2, decisions("/busy/"));
    router.route("/busy/*")
        .handler(concurrency)
        .handler(ctx -> {
          hits.computeIfAbsent("busy", k -> new AtomicInteger()).incrementAndGet();
          held.add(ctx);
        });
    Clock atSlackExample = Clock.fixed(Instant.ofEpochSecond(WebhookSignatureTest.SLACK_TS + 60), ZoneOffset.UTC);
    router.route("/github/*")
        .handler(new WebhookGate(WebhookSignatureTest.GITHUB, 4096, decisions("/github/"), Clock.systemUTC()))
        .handler(ctx -> backend(ctx, "github"));
    router.route("/slack/*")
        .handler(new WebhookGate(WebhookSignatureTest.SLACK, 4096, decisions("/slack/"), atSlackExample))
        .handler(ctx -> backend(ctx, "slack"));
    rig = new GateRig(vertx, router);
  }

  @AfterAll
  static void stop() {
    rig.close();
    await(vertx.close());
  }

  static GateDecisions decisions(String path) {
    return decisions.computeIfAbsent(path, p -> new GateDecisions(registry, "port 443 path " + p));
  }

  /** The backend: counts the request, answers "SHA-256 length" of the body it got (the gate's copy if a gate read it). */
  static void backend(RoutingContext ctx, String name) {
    hits.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
    Future<Buffer> body = GateBody.get(ctx).map(Future::succeededFuture).orElseGet(() -> ctx.request().body());
    body.onSuccess(b -> ctx.response()
        .putHeader("x-limit", GateBody.limit(ctx).map(l -> Long.toString(l.bytes())).orElse("none"))
        .end(sha256Hex(b) + " " + b.length()));
  }

  static int hits(String name) {
    AtomicInteger n = hits.get(name);
    return n == null ? 0 : n.get();
  }

  static double counted(String rule, String outcome) {
    Counter c = registry.find(GateDecisions.METER).tag("rule", rule).tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void cidrListsDecideOnTheProxyHeadersAddress() {
    assertThat(rig.get("127.0.0.1", "/cidr/x").status()).isEqualTo(200);
    assertThat(rig.get("127.0.0.3", "/cidr/x").status()).isEqualTo(200);
    assertThat(rig.get("2001:db8::7", "/cidr/x").status()).isEqualTo(200);
    int before = hits("cidr");
    GateRig.Answer denied = rig.get("127.0.0.2", "/cidr/x");
    assertThat(denied.status()).isEqualTo(403);
    assertThat(denied.body()).doesNotContain("127.0.0.2");
    assertThat(rig.get("203.0.113.7", "/cidr/x").status()).isEqualTo(403);
    assertThat(rig.get("2001:db8:bad::1", "/cidr/x").status()).isEqualTo(403);
    assertThat(rig.get("2001:db9::1", "/cidr/x").status()).isEqualTo(403);
    // a header claiming another address changes nothing: only the PROXY header counts
    assertThat(rig.send("127.0.0.2", HttpMethod.GET, "/cidr/x", null, "X-Forwarded-For", "127.0.0.1",
        "Forwarded", "for=127.0.0.1", "X-Real-IP", "127.0.0.1").status()).isEqualTo(403);
    assertThat(hits("cidr")).isEqualTo(before);
    assertThat(counted("cidr", "denied")).isEqualTo(5);
    assertThat(decisions("/cidr/").tallies()).containsEntry("cidr/allowed", 3L).containsEntry("cidr/denied", 5L);
  }

  @Test
  void theTwentyFirstRequestGets429WithRetryAfter() {
    for (int i = 1; i <= 20; i++) {
      assertThat(rig.get("198.51.100.1", "/rate/x").status()).as("request %d", i).isEqualTo(200);
    }
    GateRig.Answer limited = rig.get("198.51.100.1", "/rate/x");
    assertThat(limited.status()).isEqualTo(429);
    assertThat(Long.parseLong(limited.header("Retry-After"))).isBetween(1L, 60L);
    assertThat(hits("rate")).isEqualTo(20);
    // another client address has its own budget
    assertThat(rig.get("198.51.100.2", "/rate/x").status()).isEqualTo(200);
    assertThat(counted("rate", "limited")).isEqualTo(1);
  }

  @Test
  void aBodyOverTheCapGets413AndNeverReachesTheBackend() {
    Buffer ok = Buffer.buffer("a".repeat(1000));
    GateRig.Answer fits = rig.send("127.0.0.1", HttpMethod.POST, "/body/x", ok);
    assertThat(fits.status()).isEqualTo(200);
    assertThat(fits.body()).isEqualTo(sha256Hex(ok) + " 1000");
    int before = hits("body");
    GateRig.Answer tooBig = rig.send("127.0.0.1", HttpMethod.POST, "/body/x", Buffer.buffer("a".repeat(1001)));
    assertThat(tooBig.status()).isEqualTo(413);
    assertThat(tooBig.header("Connection")).isEqualTo("close");
    assertThat(hits("body")).isEqualTo(before);
    assertThat(counted("body", "too_large")).isEqualTo(1);
    // without a length the body streams on, and the target is told the cap to enforce
    GateRig.Answer chunked = await(rig.from("127.0.0.1").request(new RequestOptions().setMethod(HttpMethod.POST)
        .setURI("/body/x")).compose(req -> {
          req.setChunked(true);
          req.write("abc");
          return req.end("def").compose(v -> req.response()).compose(resp -> resp.body()
              .map(b -> new GateRig.Answer(resp.statusCode(), Map.of("x-limit", resp.getHeader("x-limit")),
                  b.toString())));
        }));
    assertThat(chunked.status()).isEqualTo(200);
    assertThat(chunked.header("x-limit")).isEqualTo("1000");
    assertThat(fits.header("x-limit")).isEqualTo("none");
  }

  @Test
  void theThirdConcurrentRequestGets503UntilOneEnds() throws Exception {
    List<Future<HttpClientResponse>> first = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      first.add(rig.from("127.0.0." + (10 + i)).request(HttpMethod.GET, "/busy/x").compose(req -> req.send()));
    }
    for (int i = 0; i < 200 && held.size() < 2; i++) {
      Thread.sleep(20);
    }
    assertThat(held).hasSize(2);
    assertThat(concurrency.inFlight()).isEqualTo(2);
    GateRig.Answer busy = rig.get("127.0.0.20", "/busy/x");
    assertThat(busy.status()).isEqualTo(503);
    assertThat(busy.header("Retry-After")).isEqualTo("1");
    assertThat(hits("busy")).isEqualTo(2);
    // one ends: a slot frees
    RoutingContext one = held.remove(0);
    one.vertx().runOnContext(v -> one.response().end("done"));
    assertThat(await(first.get(0)).statusCode()).isEqualTo(200);
    for (int i = 0; i < 200 && concurrency.inFlight() > 1; i++) {
      Thread.sleep(20);
    }
    assertThat(concurrency.inFlight()).isEqualTo(1);
    // the other client gives up (connection closed): its slot frees too
    RoutingContext other = held.remove(0);
    other.vertx().runOnContext(v -> other.request().connection().close());
    for (int i = 0; i < 200 && concurrency.inFlight() > 0; i++) {
      Thread.sleep(20);
    }
    assertThat(concurrency.inFlight()).isZero();
    assertThat(counted("concurrency", "busy")).isEqualTo(1);
  }

  @Test
  void signedDeliveriesPassIntactAndBadOnesGet401WithoutReachingTheBackend() {
    double allowedBefore = counted("webhook", "allowed");
    double badBefore = counted("webhook", "bad_signature");
    double missingBefore = counted("webhook", "missing_signature");
    double tooLargeBefore = counted("webhook", "too_large");
    Buffer hello = Buffer.buffer(WebhookSignatureTest.GITHUB_BODY);
    GateRig.Answer ok = rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", hello,
        "X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE, "X-GitHub-Event", "ping");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(sha256Hex(hello) + " " + hello.length());
    int before = hits("github");
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", Buffer.buffer("Hello, World?"),
        "X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE).status()).isEqualTo(401);
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", hello).status()).isEqualTo(401);
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", Buffer.buffer("x".repeat(4097)),
        "X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE).status()).isEqualTo(413);
    assertThat(hits("github")).isEqualTo(before);

    Buffer slackBody = Buffer.buffer(WebhookSignatureTest.SLACK_BODY);
    GateRig.Answer slack = rig.send("192.0.2.1", HttpMethod.POST, "/slack/commands", slackBody,
        "Content-Type", "application/x-www-form-urlencoded",
        "X-Slack-Signature", WebhookSignatureTest.SLACK_SIGNATURE,
        "X-Slack-Request-Timestamp", Long.toString(WebhookSignatureTest.SLACK_TS));
    assertThat(slack.status()).isEqualTo(200);
    assertThat(slack.body()).isEqualTo(sha256Hex(slackBody) + " " + slackBody.length());
    assertThat(counted("webhook", "allowed") - allowedBefore).isEqualTo(2);
    assertThat(counted("webhook", "bad_signature") - badBefore).isEqualTo(1);
    assertThat(counted("webhook", "missing_signature") - missingBefore).isEqualTo(1);
    assertThat(counted("webhook", "too_large") - tooLargeBefore).isEqualTo(1);
  }

  @Test
  void aChunkedDeliveryIsReadWholeAndPassedOnIntact() {
    byte[] json = "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}".getBytes(StandardCharsets.UTF_8);
    String sig = "sha256=" + java.util.HexFormat.of().formatHex(
        WebhookSignature.Key.of(WebhookSignatureTest.GITHUB_SECRET).hmac(json));
    String answer = await(rig.from("192.0.2.9").request(new RequestOptions().setMethod(HttpMethod.POST)
        .setURI("/github/chunked").addHeader("X-Hub-Signature-256", sig)).compose(req -> {
          req.setChunked(true);
          req.write(Buffer.buffer(json).getBuffer(0, 10));
          return req.end(Buffer.buffer(json).getBuffer(10, json.length)).compose(v -> req.response())
              .compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b));
        }));
    assertThat(answer).isEqualTo("200 " + sha256Hex(Buffer.buffer(json)) + " " + json.length);
  }

  @Test
  void aChunkedDeliveryOverTheBoundGets413WhileStreaming() {
    int before = hits("github");
    String answer = await(rig.from("192.0.2.10").request(new RequestOptions().setMethod(HttpMethod.POST)
        .setURI("/github/big").addHeader("X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE))
        .compose(req -> {
          req.setChunked(true);
          for (int i = 0; i < 5; i++) {
            req.write(Buffer.buffer("y".repeat(1000)));
          }
          req.end();
          return req.response().compose(resp -> resp.body().map(b -> resp.statusCode() + " "
              + resp.getHeader("Connection")));
        }));
    assertThat(answer).isEqualTo("413 close");
    assertThat(hits("github")).isEqualTo(before);
  }
}
