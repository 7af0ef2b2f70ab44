package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.tls.DevCa;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The auth key is for enrolment only: a node sends it until its first Welcome, then logs in by its
 * node key alone (so an admin's removal is not undone by a reusable key), and a node that already
 * has a node key starts without one.
 */
@ExtendWith(VertxExtension.class)
class NodeIdentityLoginTest {

  @TempDir
  Path dir;

  private DevCa ca;
  private FakeGateway gateway;

  @BeforeEach
  void setUp(Vertx vertx, VertxTestContext ctx) {
    ca = DevCa.loadOrCreate(dir.resolve("ca"));
    gateway = new FakeGateway(vertx, ca);
    gateway.listen().onComplete(ctx.succeedingThenComplete());
  }

  private NodeOptions options(String authKey) {
    return new NodeOptions()
        .setServers(List.of(new HostPort("127.0.0.1", gateway.port())))
        .setAuthKey(authKey)
        .setHostname("web")
        .setTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString()))
        .setStateDir(dir.resolve("node"))
        .setServe(Map.of(443, ServeTarget.parse("tcp://127.0.0.1:9")))
        .setBackoffMinMillis(20)
        .setBackoffMaxMillis(100)
        .setDialTimeoutMillis(2_000);
  }

  private static Future<String> deploy(Vertx vertx, NodeOptions options) {
    return vertx.deployVerticle(new NodeAgentVerticle(options, new SimpleMeterRegistry()));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theAuthKeyIsSentUntilTheFirstWelcomeOnly(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options("tskey-test"))
        .compose(id -> {
          gateway.sendControl(new Bye("node web.demo was removed"));
          return gateway.when(() -> gateway.logins() >= 2);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.hellos().get(0).authKey()).isEqualTo("tskey-test");
          assertThat(gateway.hellos().get(1).authKey()).isNull();
          assertThat(gateway.hellos().get(1).nodePublicKey()).isEqualTo(gateway.hellos().get(0).nodePublicKey());
          assertThat(gateway.proofsValid()).containsOnly(true);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNewNodeWithoutAnAuthKeyDoesNotStart(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(null)).onComplete(ctx.failing(err -> ctx.verify(() -> {
      assertThat(err).hasMessageContaining("no auth key (--authkey) and no node key in");
      assertThat(gateway.hellos()).isEmpty();
      ctx.completeNow();
    })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeWithANodeKeyLogsInWithoutAnAuthKey(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options("tskey-test"))
        .compose(vertx::undeploy)
        .compose(v -> deploy(vertx, options(null)))
        .onComplete(ctx.succeeding(id -> ctx.verify(() -> {
          assertThat(gateway.hellos()).hasSize(2);
          assertThat(gateway.hellos().get(1).authKey()).isNull();
          assertThat(gateway.hellos().get(1).nodePublicKey()).isEqualTo(gateway.hellos().get(0).nodePublicKey());
          assertThat(gateway.proofsValid()).containsExactly(true, true);
          ctx.completeNow();
        })));
  }
}
