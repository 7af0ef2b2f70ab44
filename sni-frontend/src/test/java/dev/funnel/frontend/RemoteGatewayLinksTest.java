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
import dev.funnel.common.bus.Route;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.tls.DevCa;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The frontend opening through a gateway in another process, end to end: a real HTTP/2 link over
 * mutual TLS ({@link LinkGateway}, certificates from the {@link DevCa}), its address found on the
 * event bus, opens as streams, the node's answer carried back.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RemoteGatewayLinksTest {

  static final String GATEWAY = "gw-remote";

  @TempDir
  static Path stateDir;
  static PemKeyCertOptions gatewayCert;
  static PemKeyCertOptions frontendCert;
  static PemTrustOptions trust;

  Vertx vertx;
  Backend backend;
  Fakes fakes;
  LinkGateway gateway;
  FrontendVerticle frontend;

  @BeforeAll
  static void certificates() {
    DevCa ca = DevCa.loadOrCreate(stateDir);
    gatewayCert = pem(ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1)));
    frontendCert = pem(ca.issue(List.of("frontend.test"), Duration.ofDays(1)));
    trust = new PemTrustOptions().addCertPath(ca.caPemPath().toString());
  }

  private static PemKeyCertOptions pem(DevCa.KeyAndChain key) {
    return new PemKeyCertOptions().setKeyValue(Buffer.buffer(key.keyPem())).setCertValue(Buffer.buffer(key.chainPem()));
  }

  @BeforeEach
  void deploy() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx());
    backend = new Backend();
    fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    gateway = new LinkGateway(LinkTls.server(vertx, gatewayCert, trust), backend.port());
    vertx.eventBus().consumer(Addresses.gatewayLink(GATEWAY), m -> m.reply("127.0.0.1:" + gateway.port()))
        .completion().await(10, TimeUnit.SECONDS);
    frontend = new FrontendVerticle(new FrontendOptions()
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        // No test here waits for these: they are long so that a mutual-TLS dial or an answer that is
        // slow on a starved machine is not an uncoded failure, which is resolved and tried again
        // (the tests count resolves and opens).
        .setOpenTimeoutMillis(10_000)
        .setLinkDialTimeoutMillis(10_000)
        .setLinksPerGateway(2)
        .setLinkTrust(trust)
        .setLinkKeyCert(frontendCert)
        .setAccessLog(false));
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    gateway.close();
    backend.close();
  }

  private void routeTo(String node) {
    fakes.registry.put(NAME, new Route(NAME, 443, node, GATEWAY, 1));
  }

  @Test
  void tunnelsThroughARemoteGatewayByteForByteOnAtMostLinksPerGatewayConnections() throws Exception {
    routeTo(LinkGateway.OK);
    for (int i = 0; i < 4; i++) {
      tunnelOnce(i);
    }
    assertThat(gateway.connections.get()).isBetween(1, 2);
    assertThat(gateway.opens).hasSize(4);
    assertThat(gateway.opens.get(0).targetHost()).isEqualTo(NAME);
    assertThat(gateway.opens.get(0).targetPort()).isEqualTo(443);
  }

  @Test
  void aRefusalNamingAFailureIsAnInternalErrorAndIsNotRetried() throws Exception {
    routeTo(LinkGateway.REFUSED);
    assertAlert(TlsAlert.INTERNAL_ERROR);
    assertThat(gateway.opens).hasSize(1);
    assertThat(fakes.resolves.get()).isEqualTo(1);
  }

  @Test
  void nodeGoneResolvesAgainAndOpensOnceMore() throws Exception {
    routeTo(LinkGateway.GONE);
    assertAlert(TlsAlert.INTERNAL_ERROR);
    assertThat(gateway.opens).hasSize(2);
    assertThat(fakes.resolves.get()).isEqualTo(2);
  }

  @Test
  void aRefusalWithoutAFailureHeaderCountsAsAnUnreachableGateway() throws Exception {
    routeTo(LinkGateway.NO_CODE);
    assertAlert(TlsAlert.INTERNAL_ERROR);
    assertThat(gateway.opens).hasSize(2);   // stale: resolved again and tried once more
  }

  @Test
  void aGatewayThatClosesIsForgottenAndTheNextOpenRedials() throws Exception {
    routeTo(LinkGateway.CLOSE);
    assertAlert(TlsAlert.INTERNAL_ERROR);
    assertThat(gateway.opens).hasSize(2);
    int before = gateway.connections.get();
    routeTo(LinkGateway.OK);
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
    waitUntilNoLinkConnection();
    tunnelOnce(7);
    assertThat(gateway.connections.get()).isGreaterThan(before);
  }

  @Test
  void aLinkDroppedBetweenTunnelsIsRedialled() throws Exception {
    routeTo(LinkGateway.OK);
    tunnelOnce(1);
    int before = gateway.connections.get();
    gateway.dropConnections();
    waitUntilNoLinkConnection();
    tunnelOnce(2);
    assertThat(gateway.connections.get()).isGreaterThan(before);
  }

  @Test
  void aGatewayWithoutALinkAddressIsRefusedWithinTheDialTimeout() throws Exception {
    fakes.registry.put(NAME, new Route(NAME, 443, LinkGateway.OK, "gw-nowhere", 1));
    long started = System.nanoTime();
    assertAlert(TlsAlert.INTERNAL_ERROR);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(10_000);
    assertThat(gateway.opens).isEmpty();
  }

  private void waitUntilNoLinkConnection() throws InterruptedException {
    for (int i = 0; i < 100 && !gateway.open.isEmpty(); i++) {
      Thread.sleep(20);
    }
    Thread.sleep(100);   // the frontend hears the close
  }

  private void tunnelOnce(long seed) throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    byte[] up = random(200_000, seed);
    byte[] down = random(300_001, seed + 100);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] gotHello = readExactly(s, hello.length);
        byte[] rest = readToEnd(s);
        s.getOutputStream().write(down);
        return concat(gotHello, rest);
      }
    });
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      client.getOutputStream().write(up);
      client.shutdownOutput();
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    assertThat(await(node)).isEqualTo(concat(hello, up));
  }

  private void assertAlert(TlsAlert alert) throws Exception {
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(Hellos.jdk("TLSv1.3", NAME).getBytes());
      assertThat(readToEnd(client)).isEqualTo(alert.record());
    }
  }

  @Test
  void aNewLinkIsDialledOnTheClientsLoopUnlessAnotherSlotIsOnItAlready() {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(3, NioIoHandler.newFactory());
    try {
      List<EventLoop> loops = new ArrayList<>();
      group.forEach(e -> loops.add((EventLoop) e));
      EventLoop a = loops.get(0);
      EventLoop b = loops.get(1);
      EventLoop c = loops.get(2);
      assertThat(RemoteGatewayLinks.dialLoop(a, List.of(), group)).isSameAs(a);
      assertThat(RemoteGatewayLinks.dialLoop(a, List.of(b), group)).isSameAs(a);
      // Two opens at once from loop a: the second link goes to a loop no slot is on.
      assertThat(RemoteGatewayLinks.dialLoop(a, List.of(a), group)).isSameAs(b);
      assertThat(RemoteGatewayLinks.dialLoop(a, List.of(a, b), group)).isSameAs(c);
      // Every loop has a link already: the client's.
      assertThat(RemoteGatewayLinks.dialLoop(a, List.of(a, b, c), group)).isSameAs(a);
    } finally {
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
  }
}
