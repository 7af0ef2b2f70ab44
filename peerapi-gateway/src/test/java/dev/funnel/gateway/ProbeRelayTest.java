package dev.funnel.gateway;

import static dev.funnel.gateway.FakeRegistry.FQDN;
import static dev.funnel.gateway.FakeRegistry.GOOD_KEY;
import static dev.funnel.gateway.FakeRegistry.NODE_ID;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsLookup;
import dev.funnel.common.bus.Messages;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.ProbeRequest;
import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.bus.ProbeResult.Outcome;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.Probe;
import dev.funnel.common.peerapi.ControlMessage.ProbeReply;
import dev.funnel.common.peerapi.ControlMessage.Welcome;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's half of the live probe, with a real gateway and a real node control connection:
 * the frontend (and DNS) on the other side of the event bus are fakes that record what they are
 * asked. The real frontend ⇄ gateway ⇄ node seam is {@code StatusIT}.
 */
@ExtendWith(VertxExtension.class)
class ProbeRelayTest {

  @TempDir
  static Path stateDir;
  private static DevCa ca;
  private static PemKeyCertOptions gatewayCert;

  private Vertx vertx;
  private NetClient client;
  private GatewayVerticle gateway;
  private final List<ProbeRequest> asked = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void makeCertificates() {
    ca = DevCa.loadOrCreate(stateDir);
    DevCa.KeyAndChain key = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    gatewayCert = new PemKeyCertOptions().setKeyValue(Buffer.buffer(key.keyPem()))
        .setCertValue(Buffer.buffer(key.chainPem()));
  }

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    try {
      Messages.registerCodecs(vertx.eventBus());
    } catch (IllegalStateException alreadyRegistered) {
      // the same Vertx instance: codecs are there
    }
    client = vertx.createNetClient(new NetClientOptions().setSsl(true).setHostnameVerificationAlgorithm("HTTPS")
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.caPemPath().toString())));
    new FakeRegistry(vertx);
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theProbeNamesTheSessionsOwnNameAndItsAnswerComesBack(VertxTestContext test) {
    frontend(300);
    vertx.eventBus().consumer(Addresses.DNS_LOOKUP, m -> m.reply(new DnsLookup("127.0.0.1:5353", "NOERROR",
        List.of("127.0.0.1"))));
    deploy().compose(v -> login()).compose(node -> {
      node.send(new Probe(1, 443, "ab12"));
      node.send(new Probe(2, 443, "ab12"));
      return node.next(ProbeReply.class).compose(first -> node.next(ProbeReply.class).map(second -> List.of(first, second)));
    }).onComplete(test.succeeding(replies -> test.verify(() -> {
      // The second came while the first ran: refused at once, so it arrives first.
      assertThat(replies.get(0).id()).isEqualTo(2);
      assertThat(replies.get(0).result().outcome()).isEqualTo(Outcome.RATE_LIMITED);
      ProbeResult result = replies.get(1).result();
      assertThat(replies.get(1).id()).isEqualTo(1);
      assertThat(result.outcome()).isEqualTo(Outcome.HANDSHAKE_DONE);
      assertThat(result.dnsListen()).isEqualTo("127.0.0.1:5353");
      assertThat(result.dnsAnswers()).containsExactly("127.0.0.1");
      assertThat(asked).singleElement().isEqualTo(new ProbeRequest(FQDN, 443, NODE_ID, "ab12"));
      test.completeNow();
    })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void withoutAFrontendOrDnsTheReplySaysSo(VertxTestContext test) {
    deploy().compose(v -> login()).compose(node -> {
      node.send(new Probe(5, 8443, null));
      return node.next(ProbeReply.class);
    }).onComplete(test.succeeding(reply -> test.verify(() -> {
      assertThat(reply.id()).isEqualTo(5);
      assertThat(reply.result().outcome()).isEqualTo(Outcome.NO_FRONTEND);
      assertThat(reply.result().detail()).isEqualTo("no frontend is running to probe from (none in the cluster)");
      assertThat(reply.result().dnsListen()).as("no DNS handler: Funnel runs no DNS").isNull();
      test.completeNow();
    })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeGetsAtMostTenProbesAMinute(VertxTestContext test) {
    frontend(0);
    deploy().compose(v -> login()).compose(node -> probes(node, 1, 11, List.of()))
        .onComplete(test.succeeding(outcomes -> test.verify(() -> {
          assertThat(outcomes.subList(0, 10)).containsOnly(Outcome.HANDSHAKE_DONE);
          assertThat(outcomes.get(10)).isEqualTo(Outcome.RATE_LIMITED);
          assertThat(asked).hasSize(10);
          test.completeNow();
        })));
  }

  /** Probes one after another (each after the previous reply), collecting the outcomes. */
  private Future<List<Outcome>> probes(NodeConnection node, int id, int last, List<Outcome> so) {
    if (id > last) {
      return Future.succeededFuture(so);
    }
    node.send(new Probe(id, 443, null));
    return node.next(ProbeReply.class).compose(reply -> {
      List<Outcome> next = new java.util.ArrayList<>(so);
      next.add(reply.result().outcome());
      return probes(node, id + 1, last, next);
    });
  }

  /** A fake frontend: records each request and answers HANDSHAKE_DONE after {@code delayMillis}. */
  private void frontend(long delayMillis) {
    vertx.eventBus().<ProbeRequest>consumer(Addresses.FRONTEND_PROBE, m -> {
      asked.add(m.body());
      ProbeResult done = new ProbeResult(Outcome.HANDSHAKE_DONE, null, "done", 1, m.body().fingerprint(),
          "127.0.0.1:40000", "fe-test", null, List.of());
      if (delayMillis <= 0) {
        m.reply(done);
      } else {
        vertx.setTimer(delayMillis, t -> m.reply(done));
      }
    });
  }

  private Future<Void> deploy() {
    gateway = new GatewayVerticle(new GatewayOptions().setGatewayId("gw-probe").setListen(new HostPort("127.0.0.1", 0))
        .setKeyCert(gatewayCert).setHeartbeatMillis(1_000).setSessionTimeoutMillis(60_000)
        .setLoginTimeoutMillis(60_000).setRegistryTimeoutMillis(2_000), null);
    return vertx.deployVerticle(gateway).mapEmpty();
  }

  private Future<NodeConnection> login() {
    return NodeConnection.open(client, gateway.actualPort()).compose(node -> node.next(Challenge.class)
        .compose(challenge -> {
          node.send(new Hello(ControlMessage.VERSION, GOOD_KEY, "web", List.of(443), null, null));
          return node.next(Welcome.class).map(w -> node);
        }));
  }
}
