package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.OpenData;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.IngressOffer;
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
        .setDialTimeoutMillis(2_000);
  }

  private Future<NodeAgentVerticle> deploy(Vertx vertx, NodeOptions options) {
    node = new NodeAgentVerticle(options, registry);
    return vertx.deployVerticle(node).map(id -> node);
  }

  private Future<Void> poolFull() {
    return gateway.when(() -> gateway.idle().size() == gateway.poolSize);
  }

  private static Map<Integer, ServeTarget> tcp(int publicPort, int localPort) {
    return Map.of(publicPort, ServeTarget.parse("tcp://127.0.0.1:" + localPort));
  }

  private static Buffer offer(String target, String source) {
    return new IngressOffer(HostPort.parse(source), HostPort.parse(target)).encode();
  }

  private double offers(int status) {
    Counter counter = registry.find("funnel.node.offers").tag("answer", Integer.toString(status)).counter();
    return counter == null ? 0 : counter.count();
  }

  private double bytes(String direction) {
    Counter counter = registry.find("funnel.tunnel.bytes").tag("direction", direction).tag("role", "node").counter();
    return counter == null ? 0 : counter.count();
  }

  /** Polls a condition that no event announces (a metric), every 10 ms; the test's timeout bounds it. */
  private static Future<Void> eventually(Vertx vertx, java.util.function.BooleanSupplier condition) {
    io.vertx.core.Promise<Void> promise = io.vertx.core.Promise.promise();
    vertx.setPeriodic(10, id -> {
      if (condition.getAsBoolean()) {
        vertx.cancelTimer(id);
        promise.tryComplete();
      }
    });
    return promise.future();
  }

  private static Buffer random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return Buffer.buffer(bytes);
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void logsInWithAProofAndFillsThePool(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(Map.of(443, ServeTarget.parse("tcp://127.0.0.1:9"),
        10000, ServeTarget.parse("tcp://127.0.0.1:9"), 8443, ServeTarget.parse("tcp://127.0.0.1:9"))))
        .compose(n -> poolFull())
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.hellos()).hasSize(1);
          assertThat(gateway.proofsValid()).containsExactly(true);
          assertThat(gateway.hellos().get(0).hostname()).isEqualTo("web");
          assertThat(gateway.hellos().get(0).authKey()).isEqualTo("tskey-test");
          assertThat(gateway.hellos().get(0).ports()).containsExactly(443, 8443, 10000);
          assertThat(node.sessionUp().succeeded()).isTrue();
          assertThat(node.fqdn()).contains(FQDN);
          assertThat(node.idleDataConnections()).isEqualTo(2);
          assertThat(node.dataConnectionsOpened()).isEqualTo(2);
          assertThat(dir.resolve("node").resolve(NodeKey.FILE)).exists();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 15, timeUnit = TimeUnit.SECONDS)
  void offerForATcpTargetCarriesExactBytesBothWays(Vertx vertx, VertxTestContext ctx) {
    Buffer up = random(200 * 1024, 1);
    Buffer down = random(600 * 1024, 2);
    RecordingTarget target = new RecordingTarget(vertx, up.length(), down);
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> poolFull())
        .compose(v -> {
          FakeGateway.DataPeer peer = gateway.take();
          // The head and the first bytes together, more bytes before the answer, the rest after it.
          peer.write(offer(FQDN + ":443", CLIENT).appendBuffer(up.getBuffer(0, 1000)));
          peer.write(up.getBuffer(1000, 3000));
          return peer.answer().compose(status -> {
            ctx.verify(() -> assertThat(status).isEqualTo(101));
            peer.write(up.getBuffer(3000, up.length()));
            return target.received();
          }).compose(received -> {
            ctx.verify(() -> assertThat(received.getBytes()).isEqualTo(up.getBytes()));
            // The target wrote its reply and closed; the node carries that as a half-close, so the
            // gateway side gets every byte and then the end of the stream.
            return gateway.when(() -> peer.afterAnswer().length() >= down.length());
          }).map(x -> peer);
        })
        .compose(peer -> {
          ctx.verify(() -> {
            Buffer back = peer.afterAnswer();
            assertThat(back.length()).isEqualTo(down.length());
            assertThat(back.getBytes()).isEqualTo(down.getBytes());
          });
          peer.socket.close();
          return poolFull();
        })
        .compose(v -> eventually(vertx, () -> node.metrics().activeTunnels() == 0 && bytes("outbound") > 0))
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(bytes("inbound")).isEqualTo(up.length());
          assertThat(bytes("outbound")).isEqualTo(down.length());
          assertThat(node.dataConnectionsOpened()).isEqualTo(3);
          assertThat(offers(101)).isEqualTo(1);
          assertThat(target.connections()).isEqualTo(1);
          ctx.completeNow();
        })));
  }

  static Stream<Arguments> refusals() {
    String ok = "Funnel-Ingress-Src: " + CLIENT + "\r\n";
    return Stream.of(
        Arguments.of("another node's name", offer("other." + FakeGateway.DOMAIN + ":443", CLIENT), 403),
        Arguments.of("a port not funnelled", offer(FQDN + ":8443", CLIENT), 403),
        Arguments.of("GET", Buffer.buffer("GET /v0/ingress HTTP/1.1\r\nHost: peer\r\n" + ok
            + "Funnel-Ingress-Target: " + FQDN + ":443\r\n\r\n"), 405),
        Arguments.of("a missing target header", Buffer.buffer("POST /v0/ingress HTTP/1.1\r\nHost: peer\r\n" + ok
            + "\r\n"), 400),
        Arguments.of("another path", Buffer.buffer("POST /v0/other HTTP/1.1\r\nHost: peer\r\n" + ok
            + "Funnel-Ingress-Target: " + FQDN + ":443\r\n\r\n"), 404),
        Arguments.of("a head with no end", Buffer.buffer("POST /v0/ingress HTTP/1.1\r\nX: "
            + "a".repeat(IngressOffer.MAX_HEAD_BYTES)), 400));
  }

  @ParameterizedTest(name = "{0} → {2}")
  @MethodSource("refusals")
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void refusesOffersItDoesNotServe(String what, Buffer offerBytes, int expected, Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port()))))
        .compose(n -> poolFull())
        .compose(v -> {
          FakeGateway.DataPeer peer = gateway.take();
          peer.write(offerBytes);
          return peer.answer().compose(status -> peer.whenClosed().map(status));
        })
        .onComplete(ctx.succeeding(status -> ctx.verify(() -> {
          assertThat(status).isEqualTo(expected);
          assertThat(offers(expected)).isEqualTo(1);
          assertThat(offers(101)).isZero();
          assertThat(target.connections()).as("nothing is dialled for a refused offer").isZero();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void answers503WhenTheTargetIsDown(Vertx vertx, VertxTestContext ctx) {
    closedPort(vertx)
        .compose(port -> deploy(vertx, options(tcp(443, port))))
        .compose(n -> poolFull())
        .compose(v -> {
          FakeGateway.DataPeer peer = gateway.take();
          peer.write(offer(FQDN.toUpperCase() + ":443", CLIENT));
          return peer.answer();
        })
        .onComplete(ctx.succeeding(status -> ctx.verify(() -> {
          assertThat(status).isEqualTo(503);
          assertThat(offers(503)).isEqualTo(1);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void answers503WhenNoTerminatorListensForATlsTerminatedPort(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(Map.of(443, ServeTarget.parse("http://127.0.0.1:3000"))))
        .compose(n -> poolFull())
        .compose(v -> {
          FakeGateway.DataPeer peer = gateway.take();
          peer.write(offer(FQDN + ":443", CLIENT));
          return peer.answer();
        })
        .onComplete(ctx.succeeding(status -> ctx.verify(() -> {
          assertThat(status).isEqualTo(503);
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
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void tcpTargetGetsAProxyHeaderWithTheClientAddress(int version, String ip, int port, Vertx vertx,
                                                     VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    String source = new HostPort(ip, port).toString();
    target.listen()
        .compose(t -> deploy(vertx, options(tcp(443, t.port())).setProxyProtocol(version)))
        .compose(n -> poolFull())
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
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void terminatorListenerAlwaysGetsAProxyV2Header(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget terminator = new RecordingTarget(vertx);
    terminator.listen()
        .compose(t -> deploy(vertx, options(Map.of(443, ServeTarget.parse("http://127.0.0.1:3000")))
            .setTerminatorListeners(Map.of(443, new HostPort("127.0.0.1", t.port())))))
        .compose(n -> poolFull())
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

  private Future<Void> offerThenClose(String source, String payload) {
    FakeGateway.DataPeer peer = gateway.take();
    peer.write(offer(FQDN + ":443", source));
    return peer.answer().compose(status -> {
      if (status != 101) {
        return Future.failedFuture("answer " + status);
      }
      return peer.write(Buffer.buffer(payload)).compose(x -> peer.socket.close());
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
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
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
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
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
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void reconnectsAndLogsInAgainAfterALoss(String loss, Vertx vertx, VertxTestContext ctx) {
    if (loss.equals("silence")) {
      gateway.heartbeatMillis = 60;
      gateway.answerPings = false;
    }
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> poolFull())
        .compose(v -> {
          List<FakeGateway.DataPeer> first = gateway.idle();
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
          return gateway.logins() == 2 ? poolFull() : Future.succeededFuture();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(gateway.proofsValid()).allMatch(valid -> valid);
          assertThat(gateway.hellos().get(1).ports()).containsExactly(443);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void updateServeTellsTheGatewayAndRefusesARemovedPort(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> deploy(vertx, options(Map.of(
            443, ServeTarget.parse("tcp://127.0.0.1:" + t.port()),
            8443, ServeTarget.parse("tcp://127.0.0.1:" + t.port())))))
        .compose(n -> poolFull())
        .compose(v -> node.updateServe(tcp(443, target.port())))
        .compose(v -> {
          ctx.verify(() -> assertThat(gateway.serveUpdates()).containsExactly(new ServeUpdate(List.of(443))));
          FakeGateway.DataPeer peer = gateway.take();
          peer.write(offer(FQDN + ":8443", CLIENT));
          return peer.answer();
        })
        .onComplete(ctx.succeeding(status -> ctx.verify(() -> {
          assertThat(status).isEqualTo(403);
          assertThat(gateway.hellos().get(0).ports()).containsExactly(443, 8443);
          assertThat(target.connections()).isZero();
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void answersPingsAndOpensMoreDataConnectionsOnRequest(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> poolFull())
        .compose(v -> {
          gateway.sendControl(new Ping(42));
          gateway.sendControl(new OpenData(3));
          return gateway.when(() -> gateway.pongs().contains(42L) && gateway.idle().size() == 5);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(node.dataConnectionsOpened()).isEqualTo(5);
          assertThat(node.idleDataConnections()).isEqualTo(5);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void anIdleDataConnectionTheGatewayClosesLeavesThePool(Vertx vertx, VertxTestContext ctx) {
    deploy(vertx, options(tcp(443, 9)))
        .compose(n -> poolFull())
        .compose(v -> {
          gateway.take().socket.close();
          return eventually(vertx, () -> node.idleDataConnections() == 1);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(node.dataConnectionsOpened()).as("the gateway asks for more with OpenData").isEqualTo(2);
          ctx.completeNow();
        })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
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
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
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
