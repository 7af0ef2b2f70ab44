package dev.funnel.terminator.gate;

import static dev.funnel.terminator.gate.GateRig.await;
import static dev.funnel.terminator.gate.GateRig.sha256Hex;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.gate.CidrSet;
import dev.funnel.common.gate.NetworkRule;
import dev.funnel.common.gate.Rate;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A route with every rule: the cheapest refusal answers first, and a good delivery reaches the backend intact. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
class GateChainTest {

  private Vertx vertx;
  private GateRig rig;

  @AfterEach
  void stop() {
    if (rig != null) {
      rig.close();
    }
    if (vertx != null) {
      await(vertx.close());
    }
  }

  @Test
  void rulesApplyInOrderAndShareStateAcrossRequests() {
    vertx = Vertx.vertx();
    GateChain chain = GateChain.build("port 443 path /hooks/", new GateChain.Policy(
        new NetworkRule(CidrSet.parse("192.0.2.0/24"), CidrSet.parse("192.0.2.66")), Rate.parse("3/m"), 100L, 5,
        WebhookSignatureTest.GITHUB), new SimpleMeterRegistry(), Clock.systemUTC());
    assertThat(chain.describe()).isEqualTo(
        "allow-cidr 192.0.2.0/24; deny-cidr 192.0.2.66/32; rate-limit 3/m; max-body 100; verify github; max-concurrent 5");
    AtomicInteger reached = new AtomicInteger();
    Router router = Router.router(vertx);
    Route route = router.route("/hooks/*");
    chain.handlers().forEach(route::handler);
    route.handler(ctx -> {
      reached.incrementAndGet();
      Buffer body = GateBody.get(ctx).orElseThrow();
      ctx.response().end(sha256Hex(body));
    });
    rig = new GateRig(vertx, router);
    Buffer hello = Buffer.buffer(WebhookSignatureTest.GITHUB_BODY);
    String sig = WebhookSignatureTest.GITHUB_SIGNATURE;

    // denied address, bad signature: the CIDR list answers (403), no rate token spent
    assertThat(rig.send("192.0.2.66", HttpMethod.POST, "/hooks/a", Buffer.buffer("x")).status()).isEqualTo(403);
    // allowed address: too big (413), unsigned (401), signed (200) — each spends a rate token
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/hooks/a", Buffer.buffer("x".repeat(101)),
        "X-Hub-Signature-256", sig).status()).isEqualTo(413);
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/hooks/a", hello).status()).isEqualTo(401);
    GateRig.Answer ok = rig.send("192.0.2.1", HttpMethod.POST, "/hooks/a", hello, "X-Hub-Signature-256", sig);
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(sha256Hex(hello));
    // the fourth in the minute: the rate limit answers before the signature is looked at
    assertThat(rig.send("192.0.2.1", HttpMethod.POST, "/hooks/a", hello, "X-Hub-Signature-256", sig).status())
        .isEqualTo(429);
    assertThat(reached.get()).isEqualTo(1);
    assertThat(chain.tallies()).containsEntry("cidr/denied", 1L).containsEntry("cidr/allowed", 4L)
        .containsEntry("rate/allowed", 3L).containsEntry("rate/limited", 1L).containsEntry("body/too_large", 1L)
        .containsEntry("webhook/missing_signature", 1L).containsEntry("webhook/allowed", 1L)
        .containsEntry("concurrency/allowed", 1L);
    for (int i = 0; i < 200 && chain.inFlight() != 0; i++) {
      sleep(10);
    }
    assertThat(chain.inFlight()).isZero();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
