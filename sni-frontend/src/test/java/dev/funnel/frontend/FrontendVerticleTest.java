package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.concat;
import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.random;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.Route;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FrontendVerticleTest {

  static final String GATEWAY = "gw-1";
  static final Route ROUTE = new Route(NAME, 443, "node-7", GATEWAY, 3);
  /**
   * Short enough that the tests of the deadlines are quick, long enough that on a starved machine a
   * client's next write (or the fake registry's answer on the event bus) is not taken for silence.
   */
  static final long HELLO_TIMEOUT_MILLIS = 2_000;
  static final long RESOLVE_TIMEOUT_MILLIS = 3_000;

  Vertx vertx;
  FrontendVerticle frontend;
  Backend backend;
  Fakes fakes;
  Map<String, Object> registry;
  AtomicInteger resolves;
  Queue<OpenFailure> gatewayFailures;
  List<OpenRequest> opens;

  final List<String> accessLines = new CopyOnWriteArrayList<>();
  final Handler accessHandler = new Handler() {
    @Override
    public void publish(LogRecord record) {
      accessLines.add(record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  /**
   * Several event loops: the fakes are their own verticle, so (as in {@code funnel server}) the
   * node's socket lives on another loop than the client's.
   */
  @BeforeEach
  void deploy(VertxTestContext testContext) throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx(new VertxOptions().setEventLoopPoolSize(4)));
    Logger.getLogger("funnel.access").addHandler(accessHandler);
    backend = new Backend();
    fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    registry = fakes.registry;
    resolves = fakes.resolves;
    gatewayFailures = fakes.gatewayFailures;
    opens = fakes.opens;
    registry.put(NAME, ROUTE);

    FrontendOptions options = new FrontendOptions()
        .setFrontendId("fe-test")
        .setDomain("funnel.localhost")
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0), 8443, new HostPort("127.0.0.1", 0)))
        .setHelloTimeoutMillis(HELLO_TIMEOUT_MILLIS)
        .setResolveTimeoutMillis(RESOLVE_TIMEOUT_MILLIS)
        .setOpenTimeoutMillis(2_000)
        .setRouteCacheMillis(60_000);
    frontend = new FrontendVerticle(options, fakes.links);
    vertx.deployVerticle(frontend).onComplete(testContext.succeedingThenComplete());
  }

  @AfterEach
  void tearDown() throws Exception {
    Logger.getLogger("funnel.access").removeHandler(accessHandler);
    backend.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  int port443() {
    return frontend.actualPorts().get(443);
  }

  // --- routed ---------------------------------------------------------------------------------------

  @Test
  void routesAHelloSentOneByteAtATimeAndCarriesBothWaysByteForByte() throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] up = random(300 * 1024, 1);
    byte[] down = random(700 * 1024, 2);

    // The node's server: reads the hello, answers with its whole flight while reading the rest.
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] gotHello = readExactly(s, hello.length);
        CompletableFuture<Void> writing = backend.async(() -> {
          s.getOutputStream().write(down);
          return null;
        });
        byte[] gotUp = readExactly(s, up.length);
        writing.join();
        return concat(gotHello, gotUp);
      }
    });
    byte[] clientGot;
    try (Socket client = connect(port443())) {
      Backend.writeBytewise(client, hello);
      byte[] first = readExactly(client, 1);   // like a TLS client, wait for the server's first flight
      CompletableFuture<byte[]> reading = backend.async(() -> readToEnd(client));
      client.getOutputStream().write(up);
      clientGot = concat(first, await(reading));
    }

    assertThat(await(node)).as("what the node received").isEqualTo(concat(hello, up));
    assertThat(clientGot).as("what the client received").isEqualTo(down);
    OpenRequest open = opens.get(0);
    assertThat(open.nodeId()).isEqualTo("node-7");
    assertThat(open.epoch()).isEqualTo(3);
    assertThat(open.targetHost()).isEqualTo(NAME);
    assertThat(open.targetPort()).isEqualTo(443);
    assertThat(open.frontendId()).isEqualTo("fe-test");
    assertThat(open.clientAddress()).startsWith("127.0.0.1:");
    assertThat(awaitAccessLine()).contains("port=443", "sni=" + NAME, "node=node-7", "gateway=gw-1", "outcome=routed",
        "bytes_in=" + (hello.length + up.length), "bytes_out=" + down.length);
    assertThat(count("routed")).isEqualTo(1);
  }

  static Stream<Arguments> realHellos() {
    return Stream.concat(
        Hellos.CAPTURES.stream().map(name -> Arguments.of(name, Hellos.capture(name).getBytes())),
        Stream.of(Arguments.of("jdk-tls12", Hellos.jdk("TLSv1.2", NAME).getBytes()),
            Arguments.of("large-mlkem", ClientHelloTest.largeHello().getBytes()),
            Arguments.of("50-byte records", Hellos.records(Hellos.message(Hellos.capture("curl-tls13")), 50).getBytes()),
            Arguments.of("upper case, trailing dot", Hellos.records(Hellos.helloWith(
                Hellos.sni("WEB.Demo.Funnel.Localhost."))).getBytes())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("realHellos")
  void routesEveryRealHelloAndSendsItExactlyAsReceived(String source, byte[] hello) throws Exception {
    byte[] down = random(5000, 3);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(hello);
    assertThat(opens.get(0).targetHost()).isEqualTo(NAME);
  }

  @Test
  void aClientThatShutsDownItsOutputStillReadsTheWholeReply() throws Exception {
    byte[] hello = Hellos.capture("openssl-tls13").getBytes();
    byte[] up = random(200 * 1024, 4);
    byte[] down = random(500 * 1024, 5);
    CompletableFuture<Void> helloArrived = new CompletableFuture<>();
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] gotHello = readExactly(s, hello.length);
        helloArrived.complete(null);
        byte[] rest = readToEnd(s);          // until the client's FIN, carried through
        s.getOutputStream().write(down);     // then answer
        return concat(gotHello, rest);
      }
    });
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(hello);
      await(helloArrived);
      client.getOutputStream().write(up);
      client.shutdownOutput();
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(concat(hello, up));
  }

  @Test
  void bytesSentBeforeTheTunnelIsUpReachTheNodeInOrder() throws Exception {
    byte[] hello = Hellos.capture("curl-tls12").getBytes();
    byte[] early = random(8 * 1024, 6);
    byte[] down = random(3000, 7);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length + early.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(concat(hello, early));   // one write: the early bytes come while routing
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(concat(hello, early));
  }

  @Test
  void aClientThatHalfClosesBeforeTheTunnelIsUpStillGetsItsReply() throws Exception {
    byte[] hello = Hellos.capture("openssl-tls12").getBytes();
    byte[] up = random(4000, 8);
    byte[] down = random(6000, 9);
    fakes.gatewayDelayMillis = 300;   // the FIN surely arrives while the frontend is still opening
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readToEnd(s);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(concat(hello, up));
      client.shutdownOutput();
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(concat(hello, up));
  }

  // --- refusals -------------------------------------------------------------------------------------

  @Test
  void anUnknownNameGetsUnrecognizedName() throws Exception {
    assertAlert(Hellos.jdk("TLSv1.3", "nobody.demo.funnel.localhost").getBytes(), TlsAlert.UNRECOGNIZED_NAME);

    assertThat(resolves.get()).isEqualTo(1);
    assertThat(count("no_route")).isEqualTo(1);
    assertStillServes();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badNames")
  void aNameThatIsNotNodeTailnetDomainGetsUnrecognizedNameWithoutAskingTheRegistry(String name) throws Exception {
    assertAlert(Hellos.records(Hellos.helloWith(Hellos.sni(name))).getBytes(), TlsAlert.UNRECOGNIZED_NAME);

    assertThat(resolves.get()).isZero();
    assertThat(count("bad_name")).isEqualTo(1);
    assertStillServes();
  }

  static Stream<String> badNames() {
    return Stream.of("demo.funnel.localhost", "a.web.demo.funnel.localhost", "web.demo.example.com", "127.0.0.1",
        "web.demo.funnel.localhost.evil", "we_b.demo.funnel.localhost", "web..funnel.localhost", "web.demo.funnel.localhost\u0000x");
  }

  @Test
  void anUnverifiedAliasIsRefusedWithoutAskingTheRegistry() throws Exception {
    assertAlert(Hellos.jdk("TLSv1.3", "blog.example.com").getBytes(), TlsAlert.UNRECOGNIZED_NAME);

    assertThat(resolves.get()).isZero();
    assertThat(count("bad_name")).isEqualTo(1);
    assertStillServes();
  }

  @Test
  void aVerifiedAliasRoutesToItsNodeOfferingTheAliasAndStopsWhenTheRegistryWithdrawsIt() throws Exception {
    publishAliases(Map.of("blog.example.com", NAME), 1);
    byte[] hello = Hellos.jdk("TLSv1.3", "Blog.Example.Com").getBytes();
    byte[] down = random(2000, 11);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).as("the hello, exactly as sent").isEqualTo(hello);
    assertThat(opens.get(0).targetHost()).as("the node is offered the alias").isEqualTo("blog.example.com");
    assertThat(opens.get(0).nodeId()).isEqualTo("node-7");
    assertThat(awaitAccessLine()).contains("sni=blog.example.com", "outcome=routed");

    // Another name of the same domain is still refused locally; the withdrawn alias is too.
    accessLines.clear();
    int asked = resolves.get();
    assertAlert(Hellos.jdk("TLSv1.3", "shop.example.com").getBytes(), TlsAlert.UNRECOGNIZED_NAME);
    publishAliases(Map.of(), 0);
    assertAlert(hello, TlsAlert.UNRECOGNIZED_NAME);
    assertThat(resolves.get()).as("no registry traffic for refused names").isEqualTo(asked);
  }

  /** Publishes the registry's verified set and waits (bounded) until the frontend holds {@code expected} aliases. */
  void publishAliases(Map<String, String> targets, int expected) throws Exception {
    vertx.eventBus().publish(dev.funnel.common.bus.Addresses.ALIASES_CHANGED,
        new dev.funnel.common.bus.VerifiedAliases(targets));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (frontend.aliasesKnown() != expected && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(frontend.aliasesKnown()).isEqualTo(expected);
  }

  @Test
  void funnelOffGetsHandshakeFailure() throws Exception {
    registry.put(NAME, ResolveFailure.FUNNEL_OFF);

    assertAlert(Hellos.jdk("TLSv1.2", NAME).getBytes(), TlsAlert.HANDSHAKE_FAILURE);

    assertThat(count("funnel_off")).isEqualTo(1);
    registry.put(NAME, ROUTE);
    assertStillServes();
  }

  @Test
  void aPortNotAllowedGetsHandshakeFailure() throws Exception {
    registry.put(NAME, ResolveFailure.PORT_NOT_ALLOWED);

    assertAlert(Hellos.jdk("TLSv1.3", NAME).getBytes(), TlsAlert.HANDSHAKE_FAILURE);

    assertThat(count("port_not_allowed")).isEqualTo(1);
  }

  @Test
  void aRegistryThatDoesNotAnswerGetsInternalErrorAfterTheResolveTimeout() throws Exception {
    registry.put(NAME, Fakes.SILENT);

    assertAlert(Hellos.jdk("TLSv1.3", NAME).getBytes(), TlsAlert.INTERNAL_ERROR);

    assertThat(count("registry_unavailable")).isEqualTo(1);
  }

  @Test
  void aGatewayThatCannotOpenGetsInternalError() throws Exception {
    gatewayFailures.add(OpenFailure.OFFER_TIMEOUT);

    assertAlert(Hellos.jdk("TLSv1.3", NAME).getBytes(), TlsAlert.INTERNAL_ERROR);

    assertThat(opens).hasSize(1);
    assertThat(count("node_unreachable")).isEqualTo(1);
    assertStillServes();
  }

  @Test
  void nodeGoneDropsTheCachedRouteResolvesAgainAndRetriesOnce() throws Exception {
    assertStillServes();                                   // caches gw-1's route
    registry.put(NAME, new Route(NAME, 443, "node-7", "gw-2", 4));
    gatewayFailures.add(OpenFailure.NODE_GONE);            // gw-1 no longer holds the session

    assertStillServes();

    assertThat(resolves.get()).isEqualTo(2);
    assertThat(opens).extracting(OpenRequest::epoch).containsExactly(3L, 3L, 4L);
  }

  @Test
  void nodeGoneTwiceGivesUp() throws Exception {
    gatewayFailures.add(OpenFailure.NODE_GONE);
    gatewayFailures.add(OpenFailure.NODE_GONE);

    assertAlert(Hellos.jdk("TLSv1.3", NAME).getBytes(), TlsAlert.INTERNAL_ERROR);

    assertThat(opens).hasSize(2);
    assertThat(resolves.get()).isEqualTo(2);
  }

  @Test
  void aHelloWithoutSniGetsHandshakeFailure() throws Exception {
    assertAlert(Hellos.capture("openssl-tls13-nosni").getBytes(), TlsAlert.HANDSHAKE_FAILURE);

    assertThat(count("no_sni")).isEqualTo(1);
  }

  @Test
  void aMalformedHelloGetsHandshakeFailure() throws Exception {
    byte[] duplicate = Hellos.records(Hellos.helloWith(Hellos.sni(NAME), Hellos.sni(NAME))).getBytes();

    assertAlert(duplicate, TlsAlert.HANDSHAKE_FAILURE);

    assertThat(count("bad_hello")).isEqualTo(1);
    assertStillServes();
  }

  @Test
  void plainHttpIsClosedWithoutAWord() throws Exception {
    try (Socket client = connect(port443())) {
      client.getOutputStream().write("GET / HTTP/1.1\r\nHost: web.demo.funnel.localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readToEnd(client)).isEmpty();
    }
    assertThat(count("not_tls")).isEqualTo(1);
    assertStillServes();
  }

  @Test
  void aSilentClientIsClosedAfterTheHelloDeadline() throws Exception {
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(Hellos.capture("openssl-tls13").getBytes(0, 20));   // a start, then nothing
      assertThat(readToEnd(client)).isEmpty();
    }
    assertThat(count("hello_timeout")).isEqualTo(1);
    assertStillServes();
  }

  @Test
  void aClientThatEndsItsInputBeforeAWholeHelloIsClosed() throws Exception {
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(Hellos.capture("openssl-tls13").getBytes(0, 20));
      client.shutdownOutput();
      assertThat(readToEnd(client)).isEmpty();
    }
    assertThat(count("client_closed")).isEqualTo(1);
    assertThat(count("hello_timeout")).isZero();
    assertStillServes();
  }

  @Test
  void aHelloClaiming16MiBIsRefusedAtOnce() throws Exception {
    assertAlert(ClientHelloTest.hex("1603010004" + "01ffffff").getBytes(), TlsAlert.HANDSHAKE_FAILURE);

    assertThat(count("bad_hello")).isEqualTo(1);
    assertStillServes();
  }

  @Test
  void aFloodOfHelloBytesIsCutOff() throws Exception {
    // A record claiming a 16 KiB hello inside a 20 KiB handshake message, then 64 KiB of it.
    byte[] flood = concat(ClientHelloTest.hex("1603014000" + "01005000").getBytes(), new byte[64 * 1024]);
    try (Socket client = connect(port443())) {
      CompletableFuture<Backend.Ending> ending = backend.async(() -> Backend.readUntilClosed(client));
      try {
        client.getOutputStream().write(flood);
      } catch (java.io.IOException resetWhileWriting) {
        // fine: the frontend closed on us mid-write
      }
      Backend.Ending end = await(ending);
      if (end.bytes().length > 0) {
        assertThat(end.bytes()).isEqualTo(TlsAlert.HANDSHAKE_FAILURE.record());
      }
    }
    assertThat(count("bad_hello")).isEqualTo(1);
    assertStillServes();
  }

  // --- cache, metrics -----------------------------------------------------------------------------

  @Test
  void routesAreCachedUntilTheRegistrySaysTheyChanged() throws Exception {
    assertStillServes();
    assertStillServes();
    assertThat(resolves.get()).as("second connection used the cache").isEqualTo(1);

    publishRouteChange(new RouteChanged(NAME));
    assertStillServes();
    assertThat(resolves.get()).isEqualTo(2);

    publishRouteChange(RouteChanged.ALL);
    assertStillServes();
    assertThat(resolves.get()).isEqualTo(3);
  }

  @Test
  void refusalsAreNotCached() throws Exception {
    registry.put(NAME, ResolveFailure.FUNNEL_OFF);
    assertAlert(Hellos.jdk("TLSv1.3", NAME).getBytes(), TlsAlert.HANDSHAKE_FAILURE);

    registry.put(NAME, ROUTE);
    assertStillServes();

    assertThat(resolves.get()).isEqualTo(2);
  }

  @Test
  void eachPublicPortIsItsOwnListenerAndAsksForItsOwnPort() throws Exception {
    assertThat(frontend.actualPorts()).containsOnlyKeys(443, 8443);

    serveOnce(frontend.actualPorts().get(8443));

    assertThat(opens.get(0).targetPort()).isEqualTo(8443);
    assertThat(count("routed", "8443")).isEqualTo(1);
  }

  @Test
  void metersNeverCarryAClientAddressOrAName() throws Exception {
    assertStillServes();
    assertAlert(Hellos.jdk("TLSv1.3", "nobody.demo.funnel.localhost").getBytes(), TlsAlert.UNRECOGNIZED_NAME);

    MeterRegistry meters = frontend.meterRegistry();
    assertThat(meters.get("funnel.frontend.clienthello.bytes").summary().count()).isEqualTo(2);
    assertThat(meters.get("funnel.tunnel.setup").timer().count()).isEqualTo(1);
    assertThat(meters.get("funnel.frontend.resolve").timers()).isNotEmpty();
    for (Meter meter : meters.getMeters()) {
      for (Tag tag : meter.getId().getTags()) {
        assertThat(tag.getValue()).as(meter.getId().toString()).doesNotContain("127.0.0.1", "funnel.localhost");
      }
    }
  }

  // --- helpers --------------------------------------------------------------------------------------

  /**
   * Publishes {@code change} and waits until the frontend has dropped its cached route: the event
   * reaches the verticle's loop, while the next client may be accepted on another data-plane loop first.
   */
  void publishRouteChange(RouteChanged change) throws InterruptedException {
    assertThat(frontend.routesCached()).isEqualTo(1);
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, change);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (frontend.routesCached() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(frontend.routesCached()).as("cached routes after the change").isZero();
  }

  /** Sends {@code hello}, then expects exactly one fatal alert record with {@code alert}, then EOF. */
  void assertAlert(byte[] hello, TlsAlert alert) throws Exception {
    try (Socket client = connect(port443())) {
      client.getOutputStream().write(hello);
      byte[] got = readToEnd(client);
      assertThat(got).hasSize(7);
      assertThat(got).isEqualTo(new byte[] {21, 3, 3, 0, 2, 2, (byte) alert.description()});
    }
  }

  /** One small routed exchange on port 443: the frontend is still serving. */
  void assertStillServes() throws Exception {
    serveOnce(port443());
  }

  void serveOnce(int port) throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] down = random(1000, 10);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(port)) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(hello);
  }

  double count(String outcome) {
    return count(outcome, "443");
  }

  /** The connections counter; waits briefly for it, since the meter moves as the connection ends. */
  double count(String outcome, String port) {
    MeterRegistry meters = frontend.meterRegistry();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    double value = 0;
    while (System.nanoTime() < deadline) {
      var counter = meters.find("funnel.frontend.connections").tags("port", port, "outcome", outcome).counter();
      value = counter == null ? 0 : counter.count();
      if (value > 0) {
        return value;
      }
      Thread.onSpinWait();
    }
    return value;
  }

  String awaitAccessLine() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (accessLines.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(accessLines).hasSize(1);
    return accessLines.get(0);
  }
}
