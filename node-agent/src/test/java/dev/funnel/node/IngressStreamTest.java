package dev.funnel.node;

import static dev.funnel.node.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.net.StreamOpener;
import dev.funnel.common.net.TunnelEnd;
import dev.funnel.common.ops.CapturedLog;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.IngressOffer;
import dev.funnel.common.tls.DevCa;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
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

/**
 * An offer's stream as frames on the node (no child channel): what the End holds while the local
 * target is dialled (early bytes, END_STREAM, a reset), and the tls-alpn-01 peek over it, with the
 * hello in the offer's flush or in later reads. Against {@link FakeGateway}, over real TLS.
 */
@ExtendWith(VertxExtension.class)
class IngressStreamTest {

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

  /** The node serving {@code tcp://127.0.0.1:localPort} on 443 (PROXY protocol 0, 1 or 2), its links up. */
  private Future<NodeAgentVerticle> nodeUp(Vertx vertx, int localPort, int proxyProtocol) {
    NodeOptions options = new NodeOptions()
        .setServers(List.of(new HostPort("127.0.0.1", gateway.port())))
        .setAuthKey("tskey-test")
        .setHostname("web")
        .setTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString()))
        .setStateDir(dir.resolve("node"))
        .setServe(Map.of(443, ServeTarget.parse("tcp://127.0.0.1:" + localPort)))
        .setProxyProtocol(proxyProtocol)
        .setBackoffMinMillis(20)
        .setBackoffMaxMillis(100)
        .setLocalDialTimeoutMillis(2_000)
        .setDialTimeoutMillis(2_000);
    node = new NodeAgentVerticle(options, registry);
    return vertx.deployVerticle(node)
        .compose(id -> gateway.when(() -> gateway.links().size() == NodeOptions.DEFAULT_LINKS))
        .compose(v -> eventually(vertx, () -> node.linkConnections() == NodeOptions.DEFAULT_LINKS))
        .map(v -> node);
  }

  private static Http2Headers offer() {
    return new IngressOffer(HostPort.parse(CLIENT), HostPort.parse(FQDN + ":443")).toHeaders();
  }

  private double offers(int status) {
    Counter counter = registry.find("funnel.node.offers").tag("answer", Integer.toString(status)).counter();
    return counter == null ? 0 : counter.count();
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  /** Opens an offer with {@code early} in its flush (StreamOpener, as the real gateway); the accepted stream. */
  private Future<TunnelEnd> accepted(byte[] early) {
    Promise<OpenAnswer> answer = Promise.promise();
    var link = gateway.links().get(0).channel;
    link.eventLoop().execute(() -> StreamOpener.open(link, offer(), Unpooled.wrappedBuffer(early), 5_000)
        .addListener(f -> {
          if (f.isSuccess()) {
            answer.complete((OpenAnswer) f.getNow());
          } else {
            answer.fail(f.cause());
          }
        }));
    return answer.future().compose(a -> a instanceof OpenAnswer.Accepted<?> ok
        ? Future.succeededFuture(TunnelEnd.attach((PeekedConnection) ok.stream()))
        : Future.failedFuture("offer answered " + ((OpenAnswer.Refused) a).status()));
  }

  // --- the tls-alpn-01 peek ------------------------------------------------------------------------

  static Stream<Arguments> hellos() {
    return Stream.of(
        Arguments.of("acme-tls/1 only, in the offer's flush", new String[] {"acme-tls/1"}, false, true),
        Arguments.of("acme-tls/1 only, in two later reads", new String[] {"acme-tls/1"}, true, true),
        Arguments.of("a browser's, in the offer's flush", new String[] {"h2", "http/1.1"}, false, false),
        Arguments.of("a browser's, in two later reads", new String[] {"h2", "http/1.1"}, true, false));
  }

  /**
   * While an order waits for tls-alpn-01, the ClientHello is peeked at on the stream's frames, and
   * whoever gets the connection gets the hello and what follows byte for byte: the frames the peek
   * kept are given back to the stream in order. Later reads: the offer is answered first, the hello
   * then comes in two DATA frames 100 ms apart, so the parser needs more after the first. The peek's
   * deadline is an hour here: on a starved machine the second frame may come seconds later, and a
   * peek that gave up would hand an acme-tls/1 hello to the target.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("hellos")
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theAcmePeekHandsOnExactlyTheBytesItLookedAt(String what, String[] protocols, boolean later,
                                                    boolean toResponder, Vertx vertx, VertxTestContext ctx)
      throws Exception {
    byte[] hello = HelloPeekTest.jdkHello(FQDN, protocols);
    byte[] after = random(40_000, 7);
    RecordingTarget target = new RecordingTarget(vertx);
    RecordingTarget responder = new RecordingTarget(vertx);
    nodeUpWithAcmeOrder(vertx, target, responder)
        .compose(n -> {
          n.setHelloPeekDeadlineMillis(TimeUnit.HOURS.toMillis(1));
          return accepted(later ? new byte[0] : hello);
        })
        .compose(end -> {
          if (!later) {
            end.send(after, true);
            return Future.succeededFuture();
          }
          int half = hello.length / 2;
          end.send(Arrays.copyOfRange(hello, 0, half), false);
          return vertx.timer(100).map(v -> {
            end.send(Buffer.buffer(Arrays.copyOfRange(hello, half, hello.length)).appendBytes(after).getBytes(), true);
            return null;
          });
        })
        .compose(v -> Future.any(responder.received(), target.received()))
        .onComplete(ctx.succeeding(first -> ctx.verify(() -> {
          assertThat((toResponder ? target : responder).connections()).as("dialled the other one").isZero();
          Buffer received = (toResponder ? responder : target).received().result();
          assertThat(received.getBytes()).as("the hello and what follows, byte for byte")
              .isEqualTo(Buffer.buffer(hello).appendBytes(after).getBytes());
          assertThat(offers(200)).isEqualTo(1);
          ctx.completeNow();
        })));
  }

  /**
   * A hello dripped a few bytes per DATA frame: past {@link HelloPeek#MAX_KEPT_FRAMES} frames with
   * the parser still wanting more, the peek gives up (no protocols), so the target, not the ACME
   * responder, gets the connection, and still every byte in order. The peek's deadline is an hour
   * here, so only the frame count can make it give up: the rest of the hello is sent once the
   * target is dialled, and a peek that kept waiting would never dial it (the test times out).
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aHelloInTooManyFramesIsNotPeekedAtAndReachesTheTargetWhole(Vertx vertx, VertxTestContext ctx)
      throws Exception {
    byte[] hello = HelloPeekTest.jdkHello(FQDN, new String[] {"acme-tls/1"});
    int frame = 2;
    int first = (HelloPeek.MAX_KEPT_FRAMES + 1) * frame;
    ctx.verify(() -> assertThat(hello.length).as("the parser still wants more after the first flush").isGreaterThan(first));
    RecordingTarget target = new RecordingTarget(vertx);
    RecordingTarget responder = new RecordingTarget(vertx);
    nodeUpWithAcmeOrder(vertx, target, responder)
        .compose(n -> {
          n.setHelloPeekDeadlineMillis(TimeUnit.HOURS.toMillis(1));
          RawOffer raw = RawOffer.open(gateway.links().get(0).channel, offer(), Arrays.copyOfRange(hello, 0, first),
              frame, RawOffer.Then.NOTHING);
          return raw.answer().compose(head -> eventually(vertx, 5, () -> target.connections() > 0)).map(v -> {
            raw.send(Arrays.copyOfRange(hello, first, hello.length), true);
            return v;
          });
        })
        .compose(v -> target.received())
        .onComplete(ctx.succeeding(received -> ctx.verify(() -> {
          assertThat(received.getBytes()).as("the hello, byte for byte").isEqualTo(hello);
          assertThat(responder.connections()).isZero();
          ctx.completeNow();
        })));
  }

  /** A node serving {@code target} while an ACME order of its waits for tls-alpn-01 at {@code responder}. */
  private Future<NodeAgentVerticle> nodeUpWithAcmeOrder(Vertx vertx, RecordingTarget target, RecordingTarget responder) {
    return target.listen()
        .compose(t -> responder.listen())
        .compose(r -> nodeUp(vertx, target.port(), 0))
        .map(n -> {
          n.setAcmeResponder(new HostPort("127.0.0.1", responder.port()));
          return n;
        });
  }

  // --- early bytes and END_STREAM held while the local target is dialled ---------------------------

  static Stream<Arguments> ends() {
    return Stream.of(
        Arguments.of("bytes, END_STREAM on the last DATA", 20_000, RawOffer.Then.END_STREAM_AFTER_EARLY, false),
        Arguments.of("no bytes, END_STREAM on the HEADERS", 0, RawOffer.Then.END_STREAM_ON_HEADERS, false),
        Arguments.of("bytes, END_STREAM, through the ACME peek", 20_000, RawOffer.Then.END_STREAM_AFTER_EARLY, true));
  }

  /**
   * The client's bytes and its end, in the offer's own flush, are held by the stream while the
   * target is dialled, then reach it in order: the target reads them all, then its FIN while the
   * connection is open (a half-close, not a close), and its answer comes back to the gateway.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("ends")
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void earlyBytesAndEndStreamInTheOffersFlushReachTheTargetThenItsFin(String what, int size, RawOffer.Then then,
                                                                     boolean peeked, Vertx vertx,
                                                                     VertxTestContext ctx) {
    byte[] early = random(size, 5);
    HalfCloseBackend backend = new HalfCloseBackend();
    RecordingTarget responder = new RecordingTarget(vertx);
    backend.listen()
        .compose(port -> responder.listen().compose(r -> nodeUp(vertx, port, 0)))
        .compose(n -> {
          if (peeked) {
            n.setAcmeResponder(new HostPort("127.0.0.1", responder.port()));
          }
          RawOffer raw = RawOffer.open(gateway.links().get(0).channel, offer(), early, then);
          return raw.answer().compose(head -> {
            ctx.verify(() -> assertThat(IngressAnswer.status(head)).isEqualTo(200));
            return raw.ended();
          });
        })
        .onComplete(ctx.succeeding(back -> ctx.verify(() -> {
          assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo("got " + size + " bytes, then FIN");
          assertThat(backend.sawFinWhileOpen()).isTrue();
          assertThat(responder.connections()).isZero();
          backend.close();
          ctx.completeNow();
        })));
  }

  // --- a stream the gateway resets -----------------------------------------------------------------

  /**
   * HEADERS and RST_STREAM in one flush: the node dials on the offer, and the stream is closed when
   * the dial completes. The dialled socket is closed (the target sees it go) and nothing answered.
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aStreamResetWhileTheTargetIsDialledClosesTheDialledSocket(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> nodeUp(vertx, t.port(), 0))
        .compose(n -> {
          byte[] early = "early".getBytes(StandardCharsets.US_ASCII);
          RawOffer raw = RawOffer.open(gateway.links().get(0).channel, offer(), early, RawOffer.Then.RESET);
          return raw.closed();
        })
        .compose(v -> eventually(vertx, () -> target.connections() == 1))
        .compose(v -> target.received())
        .compose(received -> {
          ctx.verify(() -> assertThat(received.length()).as("nothing spliced").isZero());
          return eventually(vertx, () -> node.metrics().activeTunnels() == 0);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(offers(200)).as("the stream was gone before the dial completed: never answered").isZero();
          assertThat(node.linkConnections()).as("a reset ends the stream, not the link").isEqualTo(2);
          ctx.completeNow();
        })));
  }

  /** The gateway resets the stream as soon as it has the 200: the tunnel ends, the local socket with it. */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aStreamResetRightAfterThe200ClosesTheLocalSocket(Vertx vertx, VertxTestContext ctx) {
    RecordingTarget target = new RecordingTarget(vertx);
    target.listen()
        .compose(t -> nodeUp(vertx, t.port(), 0))
        .compose(n -> {
          byte[] early = "early".getBytes(StandardCharsets.US_ASCII);
          RawOffer raw = RawOffer.open(gateway.links().get(0).channel, offer(), early, RawOffer.Then.NOTHING);
          return raw.answer().map(head -> {
            ctx.verify(() -> assertThat(IngressAnswer.status(head)).isEqualTo(200));
            raw.reset();
            return raw;
          });
        })
        .compose(raw -> target.received())
        .compose(received -> {
          ctx.verify(() -> assertThat(received.toString(StandardCharsets.US_ASCII)).isEqualTo("early"));
          return eventually(vertx, () -> node.metrics().activeTunnels() == 0);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertThat(target.connections()).isEqualTo(1);
          assertThat(node.linkConnections()).isEqualTo(2);
          ctx.completeNow();
        })));
  }

  // --- a local target that is down ----------------------------------------------------------------

  static Stream<Arguments> outages() {
    return Stream.of(
        Arguments.of("each offer answered 503", false),
        Arguments.of("each offer answered 200 for the ACME peek, then its stream ended", true));
  }

  /**
   * A tcp:// target that does not accept is one outage in the node's log, however many offers come:
   * one WARNING, no line per client (also when an ACME order has each offer answered 200 before the
   * target is dialled), and once it accepts again, one line saying so with the count.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("outages")
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aTargetThatIsDownIsOneOutageInTheLog(String what, boolean acme, Vertx vertx, VertxTestContext ctx)
      throws Exception {
    int down;
    try (java.net.ServerSocket closed = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      down = closed.getLocalPort();
    }
    CapturedLog log = CapturedLog.of(IngressStream.class);
    List<String> lines = log.lines();
    byte[] hello = HelloPeekTest.jdkHello(FQDN, new String[] {"h2", "http/1.1"});
    RecordingTarget responder = new RecordingTarget(vertx);
    RecordingTarget back = new RecordingTarget(vertx);
    int offers = 10;
    responder.listen()
        .compose(r -> nodeUp(vertx, down, 0))
        .compose(n -> {
          if (acme) {
            n.setAcmeResponder(new HostPort("127.0.0.1", responder.port()));
          }
          Future<List<Integer>> statuses = Future.succeededFuture(new java.util.ArrayList<>());
          for (int i = 0; i < offers; i++) {
            statuses = statuses.compose(list -> {
              RawOffer raw = RawOffer.open(gateway.links().get(0).channel, offer(), hello, RawOffer.Then.NOTHING);
              // A 503 ends the node's side of the stream; a 200 is followed by the stream's end.
              return raw.answer().map(IngressAnswer::status).otherwise(-1)
                  .compose(status -> (status == 200 ? raw.closed() : Future.<Void>succeededFuture()).map(v -> {
                    list.add(status);
                    return list;
                  }));
            });
          }
          return statuses;
        })
        .compose(statuses -> {
          ctx.verify(() -> assertThat(statuses).as("every offer, then its stream closed").hasSize(offers)
              .containsOnly(acme ? 200 : 503));
          // The owner's server is back, on the same port.
          return vertx.createNetServer(new io.vertx.core.net.NetServerOptions().setHost("127.0.0.1").setPort(down))
              .connectHandler(socket -> socket.handler(b -> socket.end(Buffer.buffer("back"))))
              .listen();
        })
        .compose(server -> {
          RawOffer raw = RawOffer.open(gateway.links().get(0).channel, offer(), hello, RawOffer.Then.NOTHING);
          return raw.answer().map(IngressAnswer::status).compose(status -> raw.ended().map(bytes -> {
            ctx.verify(() -> {
              assertThat(status).isEqualTo(200);
              assertThat(new String(bytes, StandardCharsets.US_ASCII)).isEqualTo("back");
            });
            return null;
          }));
        })
        .compose(v -> eventually(vertx, () -> lines.stream().anyMatch(l -> l.contains(" answers again ("))))
        .onComplete(ar -> {
          log.close();
          ctx.verify(() -> {
            assertThat(ar.succeeded()).as("%s", ar.cause()).isTrue();
            assertThat(lines.stream().filter(l -> l.contains("is not answering"))).as("%s", lines)
                .singleElement().asString().startsWith("WARNING port 443: local target tcp://127.0.0.1:" + down
                    + " is not answering: Connection refused;");
            assertThat(lines.stream().filter(l -> l.contains("answers again (" + offers + " failures over")))
                .as("%s", lines).hasSize(1);
            assertThat(lines.stream().filter(l -> l.contains("ended") || l.contains("answered 503")))
                .as("no line per client: %s", lines).isEmpty();
            assertThat(responder.connections()).as("no hello offered acme-tls/1 only").isZero();
          });
          ctx.completeNow();
        });
  }

  // --- the PROXY header ----------------------------------------------------------------------------

  /**
   * A server that speaks first gets its PROXY header while the client has sent nothing: the node
   * writes it to the socket ahead of the splice, and flushes it without waiting for a DATA frame.
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theProxyHeaderGoesOutBeforeTheClientSendsAnything(Vertx vertx, VertxTestContext ctx) {
    byte[] header = ProxyHeader.encode(2, HostPort.parse(CLIENT), "127.0.0.1", 443).getBytes();
    Buffer greeting = Buffer.buffer("220 speaking first\r\n");
    RecordingTarget target = new RecordingTarget(vertx, header.length, greeting);
    target.listen()
        .compose(t -> nodeUp(vertx, t.port(), 2))
        .compose(n -> accepted(new byte[0]))
        .compose(end -> target.received().compose(received -> {
          ctx.verify(() -> assertThat(received.getBytes()).as("the header alone, byte for byte").isEqualTo(header));
          return end.inputEnded();
        }))
        .onComplete(ctx.succeeding(back -> ctx.verify(() -> {
          assertThat(back).isEqualTo(greeting.getBytes());
          ctx.completeNow();
        })));
  }
}
