package dev.funnel.node;

import static dev.funnel.node.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.serve.GateMeter;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeFlags;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.TunnelEnd;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.IngressOffer;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import dev.funnel.common.tls.DevCa;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The node agent against a fake gateway, over real TLS on 127.0.0.1. */
@ExtendWith(VertxExtension.class)
class NodeAgentVerticleTest {

  private static final String FQDN = "web." + FakeGateway.DOMAIN;
  private static final String CLIENT = "203.0.113.7:53211";

  @TempDir
  Path dir;

  private DevCa ca;
  private FakeGateway gateway;
  private SimpleMeterRegistry registry;
  private NodeAgentVerticle node;

  @BeforeEach
  void setUp(Vertx vertx, VertxTestContext ctx) {
    ca = DevCa.loadOrCreate(dir.resolve("ca"));
    registry = new SimpleMeterRegistry();
    gateway = new FakeGateway(vertx, ca);
    gateway.listen().onComplete(ctx.succeedingThenComplete());
  }

  private NodeOptions options(Map<Integer, ServeTarget> serve) {
    return new NodeOptions()
        .setServers(List.of(new HostPort("127.0.0.1", gateway.port())))
        .setAuthKey("tskey-test")
        .setHostname("web")
        .setTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString()))
        .setStateDir(dir.resolve("node"))
        .setServe(serve)
        .setBackoffMinMillis(20)
        .setBackoffMaxMillis(100)
        .setLocalDialTimeoutMillis(2_000)
        // The dial bounds the TLS handshake too; tests count link dials (linksOpened), and a
        // handshake that outlasted a short bound on a starved machine would be one dial more.
        .setDialTimeoutMillis(20_000);
  }

  private Future<NodeAgentVerticle> deploy(Vertx vertx, NodeOptions options) {
    node = new NodeAgentVerticle(options, registry);
    return vertx.deployVerticle(node).map(id -> node);
  }

  /** Both sides see {@code count} link connections of the latest session. */
  private Future<Void> linksUp(Vertx vertx, int count) {
    return gateway.when(() -> gateway.links().size() == count)
        .compose(v -> eventually(vertx, () -> node.linkConnections() == count));
  }

  private Future<Void> linksUp(Vertx vertx) {
    return linksUp(vertx, NodeOptions.DEFAULT_LINKS);
  }

  private static Map<Integer, ServeTarget> tcp(int publicPort, int localPort) {
    return Map.of(publicPort, ServeTarget.parse("tcp://127.0.0.1:" + localPort));
  }

  private static Http2Headers offer(String target, String source) {
    return new IngressOffer(HostPort.parse(source), HostPort.parse(target)).toHeaders();
  }

  /** The stream of an accepted offer, or a failure naming the status. */
  private static Future<TunnelEnd> accepted(OpenAnswer answer) {
    if (answer instanceof OpenAnswer.Accepted<?> accepted) {
      return Future.succeededFuture(TunnelEnd.attach((PeekedConnection) accepted.stream()));
    }
    return Future.failedFuture("offer answered " + ((OpenAnswer.Refused) answer).status());
  }

  private static int status(OpenAnswer answer) {
    return answer instanceof OpenAnswer.Refused refused ? refused.status() : 200;
  }

  private double gauge(String name) {
    return registry.get(name).gauge().value();
  }

  private double offers(int status) {
    Counter counter = registry.find("funnel.node.offers").tag("answer", Integer.toString(status)).counter();
    return counter == null ? 0 : counter.count();
  }

  private double bytes(String direction) {
    Counter counter = registry.find("funnel.tunnel.bytes").tag("direction", direction).tag("role", "node").counter();
    return counter == null ? 0 : counter.count();
  }

  private static Buffer random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return Buffer.buffer(bytes);
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void logsInWithAProofAndKeepsKLinkConnections(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(Map.of(443, ServeTarget.parse("tcp://127.0.0.1:9"),
        10000, ServeTarget.parse("tcp://127.0.0.1:9"), 8443, ServeTarget.parse("tcp://127.0.0.1:9"))))
        .compose(n -> linksUp(vertx))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.hellos()).hasSize(1);
          assertThat(gateway.proofsValid()).containsExactly(true);
          assertThat(gateway.hellos().get(0).hostname()).isEqualTo("web");
          assertThat(gateway.hellos().get(0).authKey()).isEqualTo("tskey-test");
          assertThat(gateway.hellos().get(0).version()).isEqualTo(ControlMessage.VERSION);
          assertThat(gateway.hellos().get(0).ports()).containsExactly(443, 8443, 10000);
          assertThat(node.sessionUp().succeeded()).isTrue();
          assertThat(node.fqdn()).contains(FQDN);
          assertThat(node.linkConnections()).isEqualTo(2);
          assertThat(node.linksOpened()).isEqualTo(2);
          assertThat(gauge("funnel.node.link.connections")).isEqualTo(2);
          assertThat(gateway.linkPeers()).hasSize(2);
          assertThat(dir.resolve("node").resolve(NodeKey.FILE)).exists();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void tellsAGatewayThatTakesItWhenItsCertificateExpiresOnChangeAndOnEveryNewSession(Vertx vertx,
                                                                                   VertxTestContext ctx) {
    gateway.features = List.of(ControlMessage.FEATURE_CERTIFICATE_EXPIRY);
    java.time.Instant first = java.time.Instant.parse("2027-03-01T00:00:00Z");
    java.time.Instant renewed = java.time.Instant.parse("2027-05-01T00:00:00Z");
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          node.certificateExpiry(first);
          node.certificateExpiry(first);   // unchanged: not sent again
          node.certificateExpiry(renewed);
          return gateway.when(() -> gateway.certificateExpiries().size() >= 2);
        })
        .compose(v -> {
          // The session drops; the next one is told at once.
          gateway.closeControl();
          return gateway.when(() -> gateway.logins() == 2 && gateway.certificateExpiries().size() >= 3);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.certificateExpiries()).containsExactly(first.getEpochSecond(), renewed.getEpochSecond(),
              renewed.getEpochSecond());
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void tellsAnOlderGatewayNothingAboutItsCertificate(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          node.certificateExpiry(java.time.Instant.parse("2027-03-01T00:00:00Z"));
          // A ping round trip after it: anything sent before has arrived.
          gateway.sendControl(new Ping(41));
          return gateway.when(() -> gateway.pongs().contains(41L));
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.certificateExpiries()).isEmpty();
          assertThat(node.sessionUp().succeeded()).isTrue();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void keepsAsManyLinkConnectionsAsConfigured(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)).setLinks(3))
        .compose(n -> linksUp(vertx, 3))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(node.linksOpened()).isEqualTo(3);
          assertThat(gateway.linkPeers()).hasSize(3);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkConnectionTheGatewayClosesIsDialledAgain(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          FakeGateway.LinkPeer first = gateway.links().get(0);
          first.channel.close();
          return first.whenClosed().compose(x -> gateway.when(() -> gateway.linkPeers().size() == 3))
              .compose(x -> linksUp(vertx));
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(node.linksOpened()).isEqualTo(3);
          assertThat(gateway.logins()).as("the session itself stays").isEqualTo(1);
          assertThat(gateway.links()).hasSize(2);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkWhoseGatewayFallsSilentIsClosedByTheKeepaliveAndDialledAgain(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)).setPingIntervalMillis(50).setDeadAfterMillis(400))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          // The gateway's side of one link reads nothing more: the node's PINGs go unanswered.
          // At least three opened, not exactly: on a starved machine the live link may miss a
          // 400 ms window too and be dialled again, which is the keepalive doing its job.
          FakeGateway.LinkPeer silent = gateway.links().get(0);
          silent.channel.eventLoop().execute(() -> silent.channel.config().setAutoRead(false));
          return eventually(vertx, () -> node.linksOpened() >= 3 && node.linkConnections() == 2).map(silent);
        })
        .onComplete(ctx.succeeding(silent -> ctx.verify(() -> {
          assertThat(gateway.logins()).as("the session itself stays").isEqualTo(1);
          silent.channel.close();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void offerForATcpTargetCarriesExactBytesBothWays(Vertx vertx, VertxTestContext ctx) {
    Buffer up = random(200 * 1024, 1);
    Buffer down = random(600 * 1024, 2);
    RecordingTarget target = new RecordingTarget(vertx, up.length(), down);
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> linksUp(vertx))
        .compose(v -> gateway.offer(FQDN + ":443", CLIENT))
        .compose(answer -> {
          ctx.verify(() -> assertThat(IngressAnswer.status(((OpenAnswer.Accepted) answer).headers())).isEqualTo(200));
          return accepted(answer);
        })
        .compose(end -> {
          end.send(up.getBytes(), false);
          return target.received().compose(received -> {
            ctx.verify(() -> assertThat(received.getBytes()).isEqualTo(up.getBytes()));
            // The target wrote its reply and closed; the node carries that as END_STREAM, so the
            // gateway side gets every byte and then the end of the stream.
            return end.inputEnded();
          }).map(back -> {
            ctx.verify(() -> {
              assertThat(back.length).isEqualTo(down.length());
              assertThat(back).isEqualTo(down.getBytes());
            });
            end.endOutput();
            return end;
          });
        })
        .compose(end -> end.closed())
        .compose(v -> eventually(vertx, () -> node.metrics().activeTunnels() == 0 && bytes("outbound") > 0))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(bytes("inbound")).isEqualTo(up.length());
          assertThat(bytes("outbound")).isEqualTo(down.length());
          assertThat(node.linksOpened()).as("a tunnel is a stream: no new connection").isEqualTo(2);
          assertThat(node.linkConnections()).isEqualTo(2);
          assertThat(offers(200)).isEqualTo(1);
          assertThat(target.connections()).isEqualTo(1);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void halfCloseIsCarriedBothWays(Vertx vertx, VertxTestContext ctx) {
    byte[] request = random(50_000, 3).getBytes();
    HalfCloseBackend backend = new HalfCloseBackend();
    backend.listen()
        .compose(port -> deploy(vertx, options(tcp(443, port))))
        .compose(n -> linksUp(vertx))
        .compose(v -> gateway.offer(FQDN + ":443", CLIENT))
        .compose(NodeAgentVerticleTest::accepted)
        .compose(end -> {
          // The client ends its output; the backend reads its FIN while the connection is open,
          // answers after it, and then ends its own output.
          end.send(request, true);
          return end.inputEnded();
        })
        .onComplete(ctx.succeeding(back -> ctx.verify(() -> {
          assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo("got " + request.length + " bytes, then FIN");
          assertThat(backend.sawFinWhileOpen()).isTrue();
          backend.close();
          ctx.completeNow();
        })));
  }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of("another node's name", offer("other." + FakeGateway.DOMAIN + ":443", CLIENT), 403),
        Arguments.of("a port not funnelled", offer(FQDN + ":8443", CLIENT), 403),
        Arguments.of("GET", offer(FQDN + ":443", CLIENT).method("GET"), 405),
        Arguments.of("a missing target header", new DefaultHttp2Headers().method("POST").path(IngressOffer.PATH)
            .scheme("https").authority("peer").add(IngressOffer.SRC_HEADER, CLIENT), 400),
        Arguments.of("a bad source address", offer(FQDN + ":443", CLIENT).set(IngressOffer.SRC_HEADER, "nope"), 400),
        Arguments.of("another path", offer(FQDN + ":443", CLIENT).path("/v0/other"), 404));
  }

  @ParameterizedTest(name = "{0} → {2}")
  @MethodSource("refusals")
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void refusesOffersItDoesNotServe(String what, Http2Headers offerHead, int expected, Vertx vertx,
                                   VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> linksUp(vertx))
        .compose(v -> gateway.offer(offerHead))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertThat(status(answer)).isEqualTo(expected);
          assertThat(IngressAnswer.reason(((OpenAnswer.Refused) answer).headers())).isNotBlank();
          assertThat(offers(expected)).isEqualTo(1);
          assertThat(offers(200)).isZero();
          assertThat(target.connections()).as("nothing is dialled for a refused offer").isZero();
          assertThat(node.linkConnections()).as("a refusal ends the stream, not the link").isEqualTo(2);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anOfferForACustomDomainIsAcceptedOnlyWhileTheRegistrySaysItIsVerified(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    java.util.function.Function<dev.funnel.common.bus.AliasInfo.State, dev.funnel.common.bus.AliasInfo> blog = state ->
        new dev.funnel.common.bus.AliasInfo("blog.example.com", "demo", "web", FQDN, "funnel-00", state, "", 0, "node");
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> linksUp(vertx))
        .compose(v -> gateway.offer(offer("blog.example.com:443", CLIENT)))
        .compose(unknown -> {
          ctx.verify(() -> assertThat(status(unknown)).as("an alias the node has not heard of").isEqualTo(403));
          node.aliases().update(List.of(blog.apply(dev.funnel.common.bus.AliasInfo.State.PENDING)));
          return gateway.offer(offer("blog.example.com:443", CLIENT));
        })
        .compose(pending -> {
          ctx.verify(() -> assertThat(status(pending)).as("pending").isEqualTo(403));
          node.aliases().update(List.of(blog.apply(dev.funnel.common.bus.AliasInfo.State.VERIFIED)));
          return gateway.offer(offer("Blog.Example.com:443", CLIENT));
        })
        .compose(verified -> {
          ctx.verify(() -> assertThat(status(verified)).as("verified").isEqualTo(200));
          node.aliases().update(List.of(blog.apply(dev.funnel.common.bus.AliasInfo.State.FAILED)));
          return gateway.offer(offer("blog.example.com:443", CLIENT));
        })
        .onComplete(ctx.succeeding(failed -> ctx.verify(() -> {
          assertThat(status(failed)).as("failed its re-check").isEqualTo(403);
          assertThat(node.aliases().verified()).isEmpty();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aTcpPortsGateRefusesBeforeTheLocalDial(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> {
          GatePolicy policy = ServeFlags.rule(ServeFlags.rule(ServeFlags.rule(GatePolicy.NONE,
              "allow-cidr", "203.0.113.0/24,2001:db8::/32"), "deny-cidr", "203.0.113.66"), "rate-limit", "2/m");
          node.updateTcpRules(Map.of(443, policy));
          return linksUp(vertx);
        })
        // denied by the lists: 403, nothing dialled
        .compose(v -> gateway.offer(FQDN + ":443", "203.0.113.66:4000"))
        .compose(denied -> {
          ctx.verify(() -> assertThat(status(denied)).isEqualTo(403));
          return gateway.offer(FQDN + ":443", "198.51.100.1:4000");
        })
        .compose(outside -> {
          ctx.verify(() -> {
            assertThat(status(outside)).isEqualTo(403);
            assertThat(IngressAnswer.reason(((OpenAnswer.Refused) outside).headers()))
                .as("the gateway learns the rule, not the lists").contains("(cidr)").doesNotContain("203.0.113");
            assertThat(target.connections()).isZero();
          });
          return gateway.offer(FQDN + ":443", "[2001:db8::5]:4000");
        })
        // allowed: two connections a minute from one address, the third refused
        .compose(v6 -> {
          ctx.verify(() -> assertThat(status(v6)).isEqualTo(200));
          return accepted(v6).compose(end -> {
            end.endOutput();
            return gateway.offer(FQDN + ":443", CLIENT);
          });
        })
        .compose(first -> {
          ctx.verify(() -> assertThat(status(first)).isEqualTo(200));
          return accepted(first).compose(end -> {
            end.endOutput();
            return gateway.offer(FQDN + ":443", CLIENT);
          });
        })
        .compose(second -> {
          ctx.verify(() -> assertThat(status(second)).isEqualTo(200));
          return accepted(second).compose(end -> {
            end.endOutput();
            return gateway.offer(FQDN + ":443", CLIENT);
          });
        })
        .compose(third -> {
          ctx.verify(() -> assertThat(IngressAnswer.reason(((OpenAnswer.Refused) third).headers())).contains("(rate-limit)"));
          return eventually(vertx, () -> target.connections() == 3);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(offers(403)).isEqualTo(3);
          assertThat(offers(200)).isEqualTo(3);
          assertThat(gateCount("cidr", "denied")).isEqualTo(2);
          assertThat(gateCount("cidr", "allowed")).isEqualTo(4);
          assertThat(gateCount("rate-limit", "limited")).isEqualTo(1);
          assertThat(node.tcpGates().get(443).tallies()).containsEntry("rate-limit/allowed", 3L);
          ctx.completeNow();
        })));
  }

  private double gateCount(String rule, String outcome) {
    Counter counter = registry.find(GateMeter.NAME).tag("rule", rule).tag("outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void answers503WhenTheTargetIsDown(Vertx vertx, VertxTestContext ctx) {
    closedPort(vertx)
        .compose(port -> deploy(vertx, options(tcp(443, port))))
        .compose(n -> linksUp(vertx))
        .compose(v -> gateway.offer(FQDN.toUpperCase() + ":443", CLIENT))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertThat(status(answer)).isEqualTo(503);
          assertThat(offers(503)).isEqualTo(1);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void answers503WhenNoTerminatorListensForATlsTerminatedPort(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(Map.of(443, ServeTarget.parse("http://127.0.0.1:3000"))))
        .compose(n -> linksUp(vertx))
        .compose(v -> gateway.offer(FQDN + ":443", CLIENT))
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertThat(status(answer)).isEqualTo(503);
          ctx.completeNow();
        })));
  }

  static Stream<Arguments> proxyHeaders() {
    return Stream.of(
        Arguments.of(1, "203.0.113.7", 53211),
        Arguments.of(2, "203.0.113.7", 53211),
        Arguments.of(1, "2001:db8::7", 4444),
        Arguments.of(2, "2001:db8::7", 4444));
  }

  @ParameterizedTest(name = "PROXY v{0} from {1}")
  @MethodSource("proxyHeaders")
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void tcpTargetGetsAProxyHeaderWithTheClientAddress(int version, String ip, int port, Vertx vertx,
                                                     VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    String source = new HostPort(ip, port).toString();
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port())).setProxyProtocol(version)))
        .compose(n -> linksUp(vertx))
        .compose(v -> offerThenClose(source, "hello through PROXY"))
        .compose(v -> target.received())
        .onComplete(ctx.succeeding(received -> ctx.verify(() -> {
          HAProxyMessage header = decodeProxy(received, "hello through PROXY");
          assertThat(header.protocolVersion()).isEqualTo(version == 1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2);
          assertThat(normaliseIp(header.sourceAddress())).isEqualTo(normaliseIp(ip));
          assertThat(header.sourcePort()).isEqualTo(port);
          assertThat(header.destinationPort()).isEqualTo(443);
          assertThat(normaliseIp(header.destinationAddress())).isEqualTo("127.0.0.1");
          header.release();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void withoutProxyProtocolTheTargetGetsTheClientsBytesOnly(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> linksUp(vertx))
        .compose(v -> offerThenClose(CLIENT, "exactly these bytes"))
        .compose(v -> target.received())
        .onComplete(ctx.succeeding(received -> ctx.verify(() -> {
          assertThat(received.toString()).isEqualTo("exactly these bytes");
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void terminatorListenerAlwaysGetsAProxyV2Header(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget terminator = new RecordingTarget(vertx);
    terminator.listen()
        .compose(t -> deploy(vertx, options(Map.of(443, ServeTarget.parse("http://127.0.0.1:3000")))
            .setTerminatorListeners(Map.of(443, new HostPort("127.0.0.1", t.port())))))
        .compose(n -> linksUp(vertx))
        .compose(v -> offerThenClose(CLIENT, "GET / HTTP/1.1"))
        .compose(v -> terminator.received())
        .onComplete(ctx.succeeding(received -> ctx.verify(() -> {
          HAProxyMessage header = decodeProxy(received, "GET / HTTP/1.1");
          assertThat(header.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V2);
          assertThat(header.sourceAddress()).isEqualTo("203.0.113.7");
          assertThat(header.sourcePort()).isEqualTo(53211);
          header.release();
          ctx.completeNow();
        })));
  }

  /** Offers a tunnel, sends {@code payload} and ends the stream (the target sees the end). */
  private Future<Void> offerThenClose(String source, String payload) {
    return gateway.offer(FQDN + ":443", source)
        .compose(NodeAgentVerticleTest::accepted)
        .map(end -> {
          end.send(payload.getBytes(StandardCharsets.ISO_8859_1), true);
          return null;
        });
  }

  /** Decodes with Netty's own decoder and checks the payload follows the header byte for byte. */
  private static HAProxyMessage decodeProxy(Buffer received, String payload) {
    EmbeddedChannel channel = new EmbeddedChannel(new HAProxyMessageDecoder());
    channel.writeInbound(Unpooled.wrappedBuffer(received.getBytes()));
    HAProxyMessage header = channel.readInbound();
    assertThat(header).as("a PROXY header").isNotNull();
    StringBuilder rest = new StringBuilder();
    ByteBuf chunk;
    while ((chunk = channel.readInbound()) != null) {
      rest.append(chunk.toString(StandardCharsets.ISO_8859_1));
      chunk.release();
    }
    channel.finishAndReleaseAll();
    assertThat(rest.toString()).isEqualTo(payload);
    return header;
  }

  private static String normaliseIp(String ip) {
    try {
      return java.net.InetAddress.getByName(ip).getHostAddress();
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aRefusedFirstLoginFailsStart(Vertx vertx, VertxTestContext ctx) {
    gateway.refuseWith = new Refused("BAD_KEY", "unknown auth key");
    deploy(vertx, options(tcp(443, 9)))
        .onComplete(ctx.failing(err -> ctx.verify(() -> {
          assertThat(err).hasMessageContaining("the server refused this node: BAD_KEY: unknown auth key");
          assertThat(gateway.hellos()).hasSize(1);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aFirstLoginRefusedForNowIsRetried(Vertx vertx, VertxTestContext ctx) {
    gateway.refuseWith = new Refused("UNAVAILABLE", "the registry is unavailable");
    Future<NodeAgentVerticle> started = deploy(vertx, options(tcp(443, 9)));
    gateway.when(() -> gateway.hellos().size() >= 2)
        .compose(v -> {
          gateway.refuseWith = null;
          return started;
        })
        .onComplete(ctx.succeeding(n -> ctx.verify(() -> {
          assertThat(n.fqdn()).contains(FQDN);
          assertThat(gateway.hellos().get(gateway.hellos().size() - 1).authKey()).as("still enrolling")
              .isEqualTo("tskey-test");
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aRunningNodeRefusedForGoodTriesAgainSlowlyNotAtTheBackoffsPace(Vertx vertx, VertxTestContext ctx) {
    long[] refusedAt = new long[1];
    deploy(vertx, options(tcp(443, 9)).setRefusedRetryMillis(1_500))
        .compose(n -> {
          gateway.refuseWith = new Refused("BAD_KEY", "the auth key k1 this node enrolled with was revoked");
          gateway.closeControl();
          return gateway.when(() -> gateway.hellos().size() >= 2);
        })
        .compose(v -> {
          refusedAt[0] = System.nanoTime();
          // At the backoff's pace (20-100 ms) there would be a dozen more Hellos by now.
          return vertx.timer(1_000);
        })
        .compose(v -> {
          ctx.verify(() -> {
            assertThat(gateway.hellos()).as("no retry before the slow pace").hasSize(2);
            assertThat(node.fqdn()).isEmpty();
          });
          gateway.refuseWith = null;
          return gateway.when(() -> gateway.logins() >= 2);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat((System.nanoTime() - refusedAt[0]) / 1_000_000).as("tried again after the slow wait")
              .isGreaterThanOrEqualTo(1_400);
          assertThat(gateway.hellos()).hasSize(3);
          assertThat(gateway.hellos().get(2).authKey()).as("by its node key alone").isNull();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void anUnreachableServerIsSkippedAndRetried(Vertx vertx, VertxTestContext ctx) {
    closedPort(vertx)
        .compose(port -> deploy(vertx, options(tcp(443, 9)).setServers(List.of(
            new HostPort("127.0.0.1", port), new HostPort("localhost", gateway.port())))))
        .onComplete(ctx.succeeding(n -> ctx.verify(() -> {
          assertThat(gateway.logins()).isEqualTo(1);
          assertThat(n.fqdn()).contains(FQDN);
          ctx.completeNow();
        })));
  }

  static Stream<Arguments> losses() {
    return Stream.of(Arguments.of("close"), Arguments.of("bye"), Arguments.of("silence"));
  }

  @ParameterizedTest(name = "after {0}")
  @MethodSource("losses")
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void reconnectsAndLogsInAgainAfterALoss(String loss, Vertx vertx, VertxTestContext ctx) {
    if (loss.equals("silence")) {
      gateway.heartbeatMillis = 60;
      gateway.answerPings = false;
    }
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          List<FakeGateway.LinkPeer> first = gateway.links();
          switch (loss) {
            case "close" -> gateway.closeControl();
            case "bye" -> gateway.sendControl(new Bye("gateway stopping"));
            default -> {
              // The gateway says nothing and answers no ping: the node must notice on its own.
            }
          }
          return gateway.when(() -> gateway.logins() >= 2).compose(x -> gateway.when(() -> first.stream()
              .allMatch(p -> p.closed)));
        })
        .compose(v -> {
          gateway.answerPings = true;
          gateway.heartbeatMillis = 5_000;
          return gateway.logins() == 2 ? linksUp(vertx) : Future.succeededFuture();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.proofsValid()).allMatch(valid -> valid);
          assertThat(gateway.hellos().get(1).ports()).containsExactly(443);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void updateServeTellsTheGatewayAndRefusesARemovedPort(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> deploy(vertx, options(Map.of(
            443, ServeTarget.parse("tcp://127.0.0.1:" + t.port()),
            8443, ServeTarget.parse("tcp://127.0.0.1:" + t.port())))))
        .compose(n -> linksUp(vertx))
        .compose(v -> node.updateServe(tcp(443, target.port())))
        .compose(v -> {
          ctx.verify(() -> assertThat(gateway.serveUpdates()).containsExactly(new ServeUpdate(List.of(443))));
          return gateway.offer(FQDN + ":8443", CLIENT);
        })
        .onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
          assertThat(status(answer)).isEqualTo(403);
          assertThat(gateway.hellos().get(0).ports()).containsExactly(443, 8443);
          assertThat(target.connections()).isZero();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void answersPings(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          gateway.sendControl(new Ping(42));
          return gateway.when(() -> gateway.pongs().contains(42L));
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void linkConnectionsCloseWithTheirSession(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> linksUp(vertx))
        .compose(v -> {
          List<FakeGateway.LinkPeer> first = gateway.links();
          gateway.sendControl(new Bye("gateway stopping"));
          return gateway.when(() -> first.stream().allMatch(p -> p.closed));
        })
        .compose(v -> gateway.when(() -> gateway.logins() == 2))
        .compose(v -> linksUp(vertx))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.linkPeers()).hasSize(4);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void getsACertificateSignedForItsOwnNameOnly(Vertx vertx, VertxTestContext ctx) {
    KeyPair pair = DevCa.newKeyPair();
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> n.signCertificate(DevCa.newRequest(pair, List.of(FQDN))))
        .compose(chainPem -> {
          ctx.verify(() -> {
            List<X509Certificate> chain = DevCa.Pem.certificates(chainPem);
            chain.get(0).verify(ca.certificate().getPublicKey());
            assertThat(chain.get(0).getPublicKey()).isEqualTo(pair.getPublic());
          });
          return node.signCertificate(DevCa.newRequest(pair, List.of("bank.example")));
        })
        .onComplete(ctx.failing(err -> ctx.verify(() -> {
          assertThat(err).hasMessageContaining("the server refused to sign").hasMessageContaining("bank.example");
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theNodeKeySurvivesARestart(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> vertx.undeploy(vertx.deploymentIDs().iterator().next()))
        .compose(v -> deploy(vertx, options(tcp(443, 9))))
        .onComplete(ctx.succeeding(n -> ctx.verify(() -> {
          assertThat(gateway.hellos()).hasSize(2);
          assertThat(gateway.hellos().get(1).nodePublicKey()).isEqualTo(gateway.hellos().get(0).nodePublicKey());
          assertThat(gateway.proofsValid()).containsExactly(true, true);
          ctx.completeNow();
        })));
  }

  /** A port nothing listens on: bound, then closed. */
  private static Future<Integer> closedPort(Vertx vertx) {
    var server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0));
    return server.connectHandler(s -> s.close()).listen()
        .compose(s -> {
          int port = s.actualPort();
          return s.close().map(port);
        });
  }
}
