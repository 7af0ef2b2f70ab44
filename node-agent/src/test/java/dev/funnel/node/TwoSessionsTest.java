package dev.funnel.node;

import static dev.funnel.node.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.ControlMessage;
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

/** {@code sessions = 2}: two sessions at once on two different gateways, a lost one replaced on a third. */
@ExtendWith(VertxExtension.class)
class TwoSessionsTest {

  @TempDir
  Path dir;

  private DevCa ca;
  private final FakeGateway[] gateways = new FakeGateway[3];
  private NodeAgentVerticle node;

  @BeforeEach
  void setUp(Vertx vertx, VertxTestContext ctx) {
    ca = DevCa.loadOrCreate(dir.resolve("ca"));
    Future<?>[] listening = new Future<?>[3];
    for (int i = 0; i < 3; i++) {
      gateways[i] = new FakeGateway(vertx, ca);
      listening[i] = gateways[i].listen();
    }
    Future.all(List.of(listening)).onComplete(ctx.succeedingThenComplete());
  }

  private NodeOptions options(int sessions, FakeGateway... servers) {
    return new NodeOptions()
        .setServers(java.util.Arrays.stream(servers).map(g -> new HostPort("127.0.0.1", g.port())).toList())
        .setSessions(sessions)
        .setAuthKey("tskey-test")
        .setHostname("web")
        .setTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString()))
        .setStateDir(dir.resolve("node"))
        .setServe(Map.of(443, ServeTarget.parse("tcp://127.0.0.1:9")))
        .setBackoffMinMillis(20)
        .setBackoffMaxMillis(100)
        .setDialTimeoutMillis(2_000);
  }

  private Future<NodeAgentVerticle> deploy(Vertx vertx, NodeOptions options) {
    node = new NodeAgentVerticle(options, new SimpleMeterRegistry());
    return vertx.deployVerticle(node).map(id -> node);
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void keepsTwoSessionsOnDifferentGatewaysAndReplacesALostOne(Vertx vertx, VertxTestContext ctx) {
    FakeGateway g1 = gateways[0];
    FakeGateway g2 = gateways[1];
    FakeGateway g3 = gateways[2];
    deploy(vertx, options(2, g1, g2, g3))
        .compose(n -> eventually(vertx, () -> node.upSessions() == 2))
        .compose(v -> {
          ctx.verify(() -> {
            assertThat(g1.logins()).isEqualTo(1);
            assertThat(g2.logins()).isEqualTo(1);
            assertThat(g3.logins()).isZero();
            // The first session enrols with the auth key; the second logs in by the node key alone.
            assertThat(g1.hellos().get(0).authKey()).isEqualTo("tskey-test");
            assertThat(g2.hellos().get(0).authKey()).isNull();
            assertThat(g2.hellos().get(0).nodePublicKey()).isEqualTo(g1.hellos().get(0).nodePublicKey());
          });
          // g1's process dies: its port refuses, its control connection drops.
          return g1.close().onSuccess(x -> g1.closeControl());
        })
        .compose(v -> eventually(vertx, () -> g3.logins() == 1 && node.upSessions() == 2))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(g2.logins()).as("the surviving session was never touched").isEqualTo(1);
          assertThat(node.upServers()).containsExactlyInAnyOrder(new HostPort("127.0.0.1", g2.port()),
              new HostPort("127.0.0.1", g3.port()));
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aSessionThatDropsIsReportedLostThroughTheOther(Vertx vertx, VertxTestContext ctx) {
    FakeGateway g1 = gateways[0];
    FakeGateway g2 = gateways[1];
    deploy(vertx, options(2, g1, g2, gateways[2]))
        .compose(n -> eventually(vertx, () -> node.upSessions() == 2))
        // g1 dies without a word: its control connection just closes.
        .compose(v -> g1.close().onSuccess(x -> g1.closeControl()))
        .compose(v -> g2.when(() -> !g2.lossReports().isEmpty()))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(g2.lossReports()).hasSize(1);
          assertThat(g2.lossReports().get(0).gatewayId()).isEqualTo(g1.gatewayId);
          assertThat(g2.lossReports().get(0).epoch()).isEqualTo(g1.epoch());
          assertThat(g2.lossReports().get(0).reason()).isNotBlank();
          assertThat(g1.lossReports()).isEmpty();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aSessionEndedByItsGatewaysByeIsNotReported(Vertx vertx, VertxTestContext ctx) {
    FakeGateway g1 = gateways[0];
    FakeGateway g2 = gateways[1];
    FakeGateway g3 = gateways[2];
    deploy(vertx, options(2, g1, g2, g3))
        .compose(n -> eventually(vertx, () -> node.upSessions() == 2))
        .compose(v -> {
          // g1 says why it ends the session (that gateway tells the registry itself), then stops.
          g1.sendControl(new ControlMessage.Bye("gateway stopping"));
          return g1.close();
        })
        .compose(v -> eventually(vertx, () -> g3.logins() == 1 && node.upSessions() == 2))
        .compose(v -> {
          // A pong on g2 answers a ping sent now: any report written before it has arrived by then.
          int pongs = g2.pongs().size();
          g2.sendControl(new ControlMessage.Ping(99));
          return g2.when(() -> g2.pongs().size() > pongs);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(g2.lossReports()).isEmpty();
          assertThat(g3.lossReports()).isEmpty();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void oneServerMeansOneSession(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(2, gateways[0]))
        .compose(n -> eventually(vertx, () -> node.upSessions() == 1))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateways[0].logins()).isEqualTo(1);
          assertThat(node.upSessions()).isEqualTo(1);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void oneSessionAskedForMeansOne(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(1, gateways[0], gateways[1]))
        .compose(n -> eventually(vertx, () -> node.upSessions() == 1))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateways[0].logins() + gateways[1].logins()).isEqualTo(1);
          ctx.completeNow();
        })));
  }
}
