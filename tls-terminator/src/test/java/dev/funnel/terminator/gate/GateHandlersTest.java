package dev.funnel.terminator.gate;

import static dev.funnel.terminator.gate.GateRig.await;
import static dev.funnel.terminator.gate.GateRig.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.serve.GateMeter;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeFlags;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped gate handlers ({@link Gates#shipped()}), built by {@link GateChain#standard()} from
 * policies as the flags spell them, on a bare Router reached by real HttpClients through relays
 * that write the PROXY header for a chosen client address (the terminator's own set-up). The
 * backend route counts what reached it and answers the SHA-256 and length of the body it got.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
class GateHandlersTest {

  @TempDir
  static Path dir;

  static Vertx vertx;
  static GateRig rig;
  static final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  static final ConcurrentHashMap<String, Object> shared = new ConcurrentHashMap<>();
  static final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  static final List<RoutingContext> held = new CopyOnWriteArrayList<>();
  static Router router;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    router = Router.router(vertx);
    Path githubSecret = Files.writeString(dir.resolve("github.secret"), WebhookSignatureTest.GITHUB_SECRET + "\n");
    mount("/cidr", policy("allow-cidr", "127.0.0.0/8,2001:db8::/32", "deny-cidr", "127.0.0.2,2001:db8:bad::/48"),
        ctx -> backend(ctx, "cidr"));
    mount("/rate", policy("rate-limit", "20/m"), ctx -> backend(ctx, "rate"));
    mount("/body", policy("max-body", "1000"), ctx -> backend(ctx, "body"));
    mount("/busy", policy("max-concurrent", "2"), ctx -> {
      hits.computeIfAbsent("busy", k -> new AtomicInteger()).incrementAndGet();
      held.add(ctx);
    });
    mount("/github", policy("verify", "github:" + githubSecret, "max-body", "4096"), ctx -> backend(ctx, "github"));
    mount("/all", policy("allow-cidr", "192.0.2.0/24", "deny-cidr", "192.0.2.66", "rate-limit", "3/m",
        "max-body", "100", "verify", "github:" + githubSecret, "max-concurrent", "5"), ctx -> backend(ctx, "all"));
    // Slack's worked example is from 2018: this route's clock stands a minute after it.
    Clock atSlackExample = Clock.fixed(Instant.ofEpochSecond(WebhookSignatureTest.SLACK_TS + 60), ZoneOffset.UTC);
    router.route("/slack/*")
        .handler(new WebhookGate(WebhookSignatureTest.SLACK, 4096,
            StepRecord.of(GateChain.Step.VERIFY, context("/slack")), atSlackExample))
        .handler(ctx -> backend(ctx, "slack"));
    rig = new GateRig(vertx, router);
  }

  @AfterAll
  static void stop() {
    rig.close();
    await(vertx.close());
  }

  static GatePolicy policy(String... ruleValues) {
    GatePolicy p = GatePolicy.NONE;
    for (int i = 0; i < ruleValues.length; i += 2) {
      p = ServeFlags.rule(p, ruleValues[i], ruleValues[i + 1]);
    }
    return p;
  }

  static GateContext context(String path) {
    return new GateContext(vertx, router, 443, path, Set.of("web.demo.funnel.localhost"), shared,
        (step, outcome) -> GateMeter.counter(registry, step.rule, outcome).increment());
  }

  static void mount(String path, GatePolicy policy, Handler<RoutingContext> target) {
    List<Handler<RoutingContext>> chain = await(GateChain.standard().build(policy, context(path)));
    Route route = router.route(path + "/*");
    chain.forEach(route::handler);
    route.handler(target);
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
    Counter c = registry.find(GateMeter.NAME).tag("rule", rule).tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  static Map<String, Long> tallies(String path) {
    return StepRecord.log(context(path)).tallies();
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
    assertThat(denied.header("Cache-Control")).isEqualTo("no-store");
    assertThat(rig.get("203.0.113.7", "/cidr/x").status()).isEqualTo(403);
    assertThat(rig.get("2001:db8:bad::1", "/cidr/x").status()).isEqualTo(403);
    assertThat(rig.get("2001:db9::1", "/cidr/x").status()).isEqualTo(403);
    // a header claiming another address changes nothing: only the PROXY header counts
    assertThat(rig.send("127.0.0.2", HttpMethod.GET, "/cidr/x", null, "X-Forwarded-For", "127.0.0.1",
        "Forwarded", "for=127.0.0.1", "X-Real-IP", "127.0.0.1").status()).isEqualTo(403);
    assertThat(hits("cidr")).isEqualTo(before);
    assertThat(tallies("/cidr")).containsEntry("cidr/allowed", 3L).containsEntry("cidr/denied", 5L);
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
    assertThat(tallies("/rate")).containsEntry("rate-limit/limited", 1L).containsEntry("rate-limit/allowed", 21L);
    assertThat(counted("rate-limit", "limited")).isEqualTo(1);
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
    assertThat(tallies("/body")).containsEntry("max-body/too_large", 1L);
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
    AtomicInteger inFlight = context("/busy").shared("in-flight", AtomicInteger::new);
    List<Future<HttpClientResponse>> first = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      first.add(rig.from("127.0.0." + (10 + i)).request(HttpMethod.GET, "/busy/x").compose(req -> req.send()));
    }
    for (int i = 0; i < 200 && held.size() < 2; i++) {
      Thread.sleep(20);
    }
    assertThat(held).hasSize(2);
    assertThat(inFlight.get()).isEqualTo(2);
    GateRig.Answer busy = rig.get("127.0.0.20", "/busy/x");
    assertThat(busy.status()).isEqualTo(503);
    assertThat(busy.header("Retry-After")).isEqualTo("1");
    assertThat(hits("busy")).isEqualTo(2);
    // one ends: a slot frees
    RoutingContext one = held.remove(0);
    one.vertx().runOnContext(v -> one.response().end("done"));
    assertThat(await(first.get(0)).statusCode()).isEqualTo(200);
    for (int i = 0; i < 200 && inFlight.get() > 1; i++) {
      Thread.sleep(20);
    }
    assertThat(inFlight.get()).isEqualTo(1);
    // the other client gives up (connection closed): its slot frees too
    RoutingContext other = held.remove(0);
    other.vertx().runOnContext(v -> other.request().connection().close());
    for (int i = 0; i < 200 && inFlight.get() > 0; i++) {
      Thread.sleep(20);
    }
    assertThat(inFlight.get()).isZero();
    assertThat(tallies("/busy")).containsEntry("max-concurrent/busy", 1L);
  }

  @Test
  void signedDeliveriesPassIntactAndBadOnesGet401WithoutReachingTheBackend() {
    Buffer hello = Buffer.buffer(WebhookSignatureTest.GITHUB_BODY);
    GateRig.Answer ok = rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", hello,
        "X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE, "X-GitHub-Event", "ping");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(sha256Hex(hello) + " " + hello.length());
    int before = hits("github");
    Map<String, Long> talliesBefore = tallies("/github");
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", Buffer.buffer("Hello, World?"),
        "X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE).status()).isEqualTo(401);
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", hello).status()).isEqualTo(401);
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/github/hook", Buffer.buffer("x".repeat(4097)),
        "X-Hub-Signature-256", WebhookSignatureTest.GITHUB_SIGNATURE).status()).isEqualTo(413);
    assertThat(hits("github")).isEqualTo(before);
    Map<String, Long> after = tallies("/github");
    assertThat(after.get("verify/bad_signature") - talliesBefore.getOrDefault("verify/bad_signature", 0L)).isEqualTo(1);
    assertThat(after.get("verify/missing_signature") - talliesBefore.getOrDefault("verify/missing_signature", 0L))
        .isEqualTo(1);
    assertThat(after.get("max-body/too_large") - talliesBefore.getOrDefault("max-body/too_large", 0L)).isEqualTo(1);

    Buffer slackBody = Buffer.buffer(WebhookSignatureTest.SLACK_BODY);
    GateRig.Answer slack = rig.send("192.0.2.1", HttpMethod.POST, "/slack/commands", slackBody,
        "Content-Type", "application/x-www-form-urlencoded",
        "X-Slack-Signature", WebhookSignatureTest.SLACK_SIGNATURE,
        "X-Slack-Request-Timestamp", Long.toString(WebhookSignatureTest.SLACK_TS));
    assertThat(slack.status()).isEqualTo(200);
    assertThat(slack.body()).isEqualTo(sha256Hex(slackBody) + " " + slackBody.length());
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

  @Test
  void everyRuleOnOneRouteRefusesCheapestFirst() {
    Buffer hello = Buffer.buffer(WebhookSignatureTest.GITHUB_BODY);
    String sig = WebhookSignatureTest.GITHUB_SIGNATURE;
    // denied address, bad signature: the CIDR list answers (403), no rate token spent
    assertThat(rig.send("192.0.2.66", HttpMethod.POST, "/all/a", Buffer.buffer("x")).status()).isEqualTo(403);
    // allowed address: too big (413), unsigned (401), signed (200) — each spends a rate token
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/all/a", Buffer.buffer("x".repeat(101)),
        "X-Hub-Signature-256", sig).status()).isEqualTo(413);
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/all/a", hello).status()).isEqualTo(401);
    GateRig.Answer ok = rig.send("192.0.2.1", HttpMethod.POST, "/all/a", hello, "X-Hub-Signature-256", sig);
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(sha256Hex(hello) + " " + hello.length());
    // the fourth in the minute: the rate limit answers before the signature is looked at
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/all/a", hello, "X-Hub-Signature-256", sig).status())
        .isEqualTo(429);
    assertThat(hits("all")).isEqualTo(1);
    assertThat(tallies("/all")).containsEntry("cidr/denied", 1L).containsEntry("cidr/allowed", 4L)
        .containsEntry("rate-limit/allowed", 3L).containsEntry("rate-limit/limited", 1L)
        .containsEntry("max-body/too_large", 1L).containsEntry("verify/missing_signature", 1L)
        .containsEntry("verify/allowed", 1L).containsEntry("max-concurrent/allowed", 1L);
  }

  @Test
  void aMissingSecretFileRefusesTheRoute() throws Exception {
    Future<List<Handler<RoutingContext>>> built = GateChain.standard().build(
        policy("verify", "stripe:" + dir.resolve("absent.secret")), context("/nope"));
    Throwable cause = built.<Throwable>transform(ar -> Future.succeededFuture(ar.cause()))
        .await(10, TimeUnit.SECONDS);
    assertThat(cause).isNotNull();
    assertThat(cause.getMessage()).contains("cannot read the secret file").contains("absent.secret");
  }
}
