package dev.funnel.gateway;

import static dev.funnel.gateway.FakeRegistry.EPOCH;
import static dev.funnel.gateway.FakeRegistry.FQDN;
import static dev.funnel.gateway.FakeRegistry.GOOD_KEY;
import static dev.funnel.gateway.FakeRegistry.NODE_ID;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Messages;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.SplicedEnd;
import dev.funnel.common.net.TunnelEnd;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.tls.DevCa;
import dev.funnel.node.NodeAgentVerticle;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seam with both real sides: a real {@link GatewayVerticle} (and a fake registry on the event
 * bus) and a real {@link NodeAgentVerticle} serving a local TCP echo backend; tunnels are opened
 * through the gateway's in-JVM link, as the frontend in the same JVM opens them.
 */
@ExtendWith(VertxExtension.class)
class NodeGatewayLinkTest {

  private static final String GATEWAY_ID = "gw-seam";
  private static final String CLIENT = "203.0.113.7:53211";

  @TempDir
  static Path caDir;
  @TempDir
  Path nodeDir;
  private static DevCa ca;
  private static PemKeyCertOptions gatewayCert;

  private Vertx vertx;
  private final GatewayLinks localLinks = new GatewayLinks();
  private final SimpleMeterRegistry nodeMeters = new SimpleMeterRegistry();
  private GatewayVerticle gateway;
  private NodeAgentVerticle node;
  private String nodeDeployment;
  private EchoBackend backend;
  /** Between the node and the gateway, for the test that silences a link; null otherwise. */
  private Forwarder forwarder;

  @BeforeAll
  static void makeCertificates() {
    ca = DevCa.loadOrCreate(caDir);
    DevCa.KeyAndChain key = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    gatewayCert = new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(key.keyPem()))
        .setCertValue(Buffer.buffer(key.chainPem()));
  }

  @BeforeEach
  void setUp(Vertx vertx, VertxTestContext ctx, TestInfo info) {
    this.vertx = vertx;
    try {
      Messages.registerCodecs(vertx.eventBus());
    } catch (IllegalStateException alreadyRegistered) {
      // the same Vertx instance: codecs are there
    }
    new FakeRegistry(vertx);
    backend = new EchoBackend();
    gateway = new GatewayVerticle(new GatewayOptions()
        .setGatewayId(GATEWAY_ID)
        .setListen(new HostPort("127.0.0.1", 0))
        .setKeyCert(gatewayCert)
        .setSessionTimeoutMillis(60_000)
        .setDrainTimeoutSeconds(30)
        .setMaxLinksPerNode(maxLinksPerNode(info))
        .setRegistryTimeoutMillis(5_000), null, localLinks);
    backend.listen()
        .compose(port -> vertx.deployVerticle(gateway).map(port))
        .compose(port -> {
          int gatewayPort = gateway.actualPort();
          if (throughForwarder(info)) {
            try {
              forwarder = new Forwarder(gatewayPort, 0);
            } catch (java.io.IOException e) {
              return Future.failedFuture(e);
            }
            gatewayPort = forwarder.port();
          }
          NodeOptions nodeOptions = new NodeOptions();
          if (throughForwarder(info)) {
            // The node finds its end of a silent link sooner than by default (4 s / 12 s), so the
            // test's wait for the redial is short; the gateway keeps every default.
            nodeOptions.setPingIntervalMillis(1_000).setDeadAfterMillis(4_000);
          }
          String host = byName(info) ? "localhost" : "127.0.0.1";
          node = new NodeAgentVerticle(nodeOptions
              .setServers(List.of(new HostPort(host, gatewayPort)))
              .setAuthKey(GOOD_KEY)
              .setHostname("web")
              .setTrust(new PemTrustOptions().addCertPath(ca.caPemPath().toString()))
              .setStateDir(nodeDir)
              .setServe(Map.of(443, ServeTarget.parse("tcp://" + host + ":" + port)))
              .setBackoffMinMillis(20)
              .setBackoffMaxMillis(200)
              .setDialTimeoutMillis(5_000), nodeMeters);
          return vertx.deployVerticle(node);
        })
        .compose(id -> {
          nodeDeployment = id;
          return linksUp(Math.min(maxLinksPerNode(info), NodeOptions.DEFAULT_LINKS));
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @AfterEach
  void tearDown() throws java.io.IOException {
    backend.close();
    if (forwarder != null) {
      forwarder.close();
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void manyConcurrentTunnelsEachCarryTheirOwnBytes(VertxTestContext ctx) {
    echoTunnels(200, 10_000)
        .compose(v -> eventually(() -> gatewayGauge("funnel.tunnels.active") == 0 && nodeTunnels() == 0
            && backend.open.get() == 0))
        .map(v -> {
          assertThat(gateway.linkConnections(NODE_ID)).as("tunnels are streams: the links stay").isEqualTo(2);
          assertThat(node.linksOpened()).isEqualTo(2);
          return v;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  /**
   * Gateway and target named by host name: the links and every tunnel's dial resolve them off the
   * data plane's loops (OffLoopResolver), and the tunnels carry their bytes as with IP addresses.
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeThatNamesItsGatewayAndTargetByHostNameCarriesTunnels(VertxTestContext ctx) {
    echoTunnels(20, 3_000)
        .map(v -> {
          assertThat(node.linksOpened()).as("both links dialled by name").isEqualTo(2);
          return v;
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
  void aLargeTransferWaitsForASlowReaderAndArrivesWhole(VertxTestContext ctx) {
    // More than every window and socket buffer on the path can hold: while the reader sleeps,
    // the writer must be held back (unwritable) before it has written it all.
    byte[] payload = random(48 << 20, 7);
    open()
        .compose(stream -> {
          TunnelEnd end = TunnelEnd.attachPaused(stream);
          end.send(payload, true);
          return within(20_000, () -> !end.channel.isWritable() && end.written.get() < payload.length
              && end.received() == 0, () -> "the writer was not held back: writable " + end.channel.isWritable()
              + ", written " + end.written.get() + ", received " + end.received()).map(end);
        })
        .compose(end -> {
          long heldAt = end.written.get();
          assertThat(heldAt).isLessThan(payload.length);
          end.resumeReading();
          return end.inputEnded().timeout(30, TimeUnit.SECONDS)
              .recover(failed -> Future.failedFuture(new AssertionError("after the reader resumed: written "
                  + end.written.get() + ", received " + end.received(), failed)));
        })
        .map(back -> {
          assertThat(back.length).isEqualTo(payload.length);
          assertThat(Arrays.equals(back, payload)).as("every byte, in order").isTrue();
          return back;
        })
        .compose(v -> eventually(() -> gatewayGauge("funnel.tunnels.active") == 0 && nodeTunnels() == 0))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void theClientsFirstBytesGoWithTheOpenAndReachTheTargetFirst(VertxTestContext ctx) {
    byte[] first = random(5_000, 3);
    byte[] rest = random(20_000, 4);
    io.netty.buffer.ByteBuf hello = io.netty.buffer.Unpooled.wrappedBuffer(first);
    open(hello)
        .map(stream -> {
          assertThat(hello.refCnt()).as("the caller's buffer is still the caller's").isEqualTo(1);
          hello.release();
          return stream;
        })
        .compose(stream -> TunnelEnd.attach(stream).send(rest, true).inputEnded())
        .map(back -> {
          byte[] expected = new byte[first.length + rest.length];
          System.arraycopy(first, 0, expected, 0, first.length);
          System.arraycopy(rest, 0, expected, first.length, rest.length);
          assertThat(back.length).isEqualTo(expected.length);
          assertThat(Arrays.equals(back, expected)).as("the open's bytes first, then the stream's, in order").isTrue();
          return back;
        })
        .compose(v -> eventually(() -> nodeCounter("funnel.tunnel.bytes", "inbound") == first.length + rest.length))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void eightMebibytesEachWayWithHalfClose(VertxTestContext ctx) {
    byte[] payload = random(8 << 20, 8);
    open()
        .compose(stream -> TunnelEnd.attach(stream).send(payload, true).inputEnded())
        .map(back -> {
          assertThat(back.length).isEqualTo(payload.length);
          assertThat(Arrays.equals(back, payload)).isTrue();
          return back;
        })
        .compose(v -> eventually(() -> nodeCounter("funnel.tunnel.bytes", "inbound") == payload.length
            && nodeCounter("funnel.tunnel.bytes", "outbound") == payload.length))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aNodeThatDiesMidTunnelClosesItsTunnelsAndItsLinks(VertxTestContext ctx) {
    byte[] first = random(1000, 1);
    echoed(first)
        .compose(end -> {
          assertThat(gatewayGauge("funnel.tunnels.active")).isEqualTo(1);
          return vertx.undeploy(nodeDeployment).compose(v -> end.closed());
        })
        .compose(v -> eventually(() -> gateway.linkConnections(NODE_ID) == 0
            && gatewayGauge("funnel.gateway.link.connections") == 0
            && gatewayGauge("funnel.tunnels.active") == 0))
        .compose(v -> expectFailure(open()))
        .onComplete(ctx.succeedingThenComplete());
  }

  /**
   * A gateway's drain (its clean stop): the node's session ends with a Bye that lets its tunnels go
   * on, so a new open is refused (the frontend resolves again, to the node's session elsewhere)
   * while the running tunnel carries bytes both ways to its half-close; the drain ends when it does,
   * and the gateway closes the link connections then (the node's own bound, the drain time plus a
   * second, is 31 s here).
   */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aDrainingGatewayLetsItsTunnelFinishAndOpensNoOther(VertxTestContext ctx) {
    drainWithATunnelRunning(() -> gateway.drain(), ctx);
  }

  /** The node's clean stop: the same, its session ended from its own side. */
  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aStoppingNodeLetsItsTunnelFinishAndTakesNoOther(VertxTestContext ctx) {
    drainWithATunnelRunning(() -> node.drain(30_000), ctx);
  }

  private void drainWithATunnelRunning(Supplier<Future<Integer>> drain, VertxTestContext ctx) {
    byte[] first = random(1000, 11);
    byte[] rest = random(256 * 1024, 12);
    List<Channel> links = gatewaySideLinks();
    echoed(first)
        .compose(end -> {
          Future<Integer> drained = drain.get();
          return eventually(() -> gateway.linkConnections(NODE_ID) == 0 && node.linkConnections() == 0)
              .compose(v -> expectFailure(open()))
              .compose(refused -> {
                assertThat(refused).hasMessageContaining("no session of " + NODE_ID);
                assertThat(drained.isComplete()).as("a tunnel is still running").isFalse();
                assertThat(links.stream().filter(Channel::isActive)).as("its link connection stays open").isNotEmpty();
                return end.send(rest, true).inputEnded();
              })
              .compose(back -> {
                assertThat(Arrays.equals(back, 0, first.length, first, 0, first.length)).isTrue();
                assertThat(Arrays.equals(back, first.length, back.length, rest, 0, rest.length)).isTrue();
                return drained;
              });
        })
        .compose(left -> {
          assertThat(left).as("tunnels still open when the drain ended").isZero();
          return within(15_000, () -> links.stream().noneMatch(Channel::isActive),
              () -> "link connections still open: " + links.stream().filter(Channel::isActive).count());
        })
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkTheGatewayDropsIsDialledAgainAndTunnelsKeepOpening(VertxTestContext ctx) {
    byte[] payload = random(5000, 5);
    Channel dropped = gatewaySideLinks().get(0);
    dropped.close();
    eventually(() -> node.linksOpened() == 3)
        .compose(v -> linksUp(2))
        .compose(v -> {
          assertThat(gatewaySideLinks()).doesNotContain(dropped);
          return open();
        })
        .compose(stream -> TunnelEnd.attach(stream).send(payload, true).inputEnded())
        .map(back -> assertThat(back).isEqualTo(payload))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aLinkTheGatewayRefusesIsAFailedDialWithBackoffNotALinkUp(VertxTestContext ctx) {
    // This gateway takes one link connection per node; the node wants two. Each further link is
    // refused (closed right after its DataHello): the node must back off, not redial at once,
    // and never count a refused link as up.
    byte[] payload = random(3000, 3);
    Promise<Void> waited = Promise.promise();
    vertx.setTimer(3_000, id -> waited.complete());
    waited.future()
        .map(v -> {
          // Redials back off from 500 ms: a handful in 3 s (without backoff: one per handshake).
          assertThat(node.linksOpened()).isBetween(2L, 6L);
          assertThat(node.linkConnections()).isEqualTo(1);
          assertThat(gateway.linkConnections(NODE_ID)).isEqualTo(1);
          return v;
        })
        .compose(v -> open())
        .compose(stream -> TunnelEnd.attach(stream).send(payload, true).inputEnded())
        .map(back -> assertThat(back).isEqualTo(payload))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
  void aLinkThatGoesSilentIsFoundByTheOffersSentIntoItAndNoClientIsRefused(VertxTestContext ctx) {
    // The gateway's options at their defaults. One of the node's two links goes silent (a NAT dropped its
    // mapping: the forwarder throws away whatever either side sends). Opens keep coming, some of
    // them offered into the silent link: its keepalive probes it, closes it, and those offers go
    // to the other link. No open fails; the node finds the link dead on its side and dials again.
    Channel silent = gatewaySideLinks().get(0);
    forwarder.silence(((InetSocketAddress) silent.remoteAddress()).getPort());
    long silencedAt = System.nanoTime();
    AtomicLong found = new AtomicLong();
    silent.closeFuture().addListener(f -> found.set(System.nanoTime()));
    // Opens come from every loop in turn (a frontend's clients are accepted on all of them), so
    // some are offered into the silent link whichever loop it runs on.
    List<EventLoop> loops = new ArrayList<>();
    DataPlane.group().forEach(loop -> loops.add((EventLoop) loop));
    int opens = 50;
    List<Future<Long>> all = new ArrayList<>();
    for (int i = 0; i < opens; i++) {
      byte[] payload = random(1000 + i, 100 + i);
      Promise<Long> done = Promise.promise();
      all.add(done.future());
      int at = i;
      vertx.setTimer(1 + i * 100L, id -> {
        long started = System.nanoTime();
        open(io.netty.buffer.Unpooled.EMPTY_BUFFER, loops.get(at % loops.size()))
            .compose(stream -> TunnelEnd.attach(stream).send(payload, true).inputEnded())
            .map(back -> {
              assertThat(back).as("an open's bytes came back").isEqualTo(payload);
              return started;
            })
            .onComplete(done);
      });
    }
    Future.all(all)
        .map(done -> {
          long foundAt = found.get();
          assertThat(foundAt).as("the silent link was found and closed while opens came").isNotZero();
          assertThat(gatewaySideLinks()).doesNotContain(silent);
          // The first open started after the gateway closed the silent link, and how long it took.
          long firstAfter = 0;
          for (int i = 0; i < opens; i++) {
            if (done.<Long>resultAt(i) - foundAt > 0) {
              firstAfter = done.<Long>resultAt(i);
              break;
            }
          }
          System.out.printf("silent link found %d ms after it went silent; %s%n",
              TimeUnit.NANOSECONDS.toMillis(foundAt - silencedAt),
              firstAfter == 0 ? "no open started after that" : "next open started "
                  + TimeUnit.NANOSECONDS.toMillis(firstAfter - foundAt) + " ms after");
          return done;
        })
        // The node's own keepalive finds its end dead (nothing read for deadAfter) and dials again.
        .compose(v -> linksUp(2))
        .compose(v -> open())
        .compose(stream -> TunnelEnd.attach(stream).send(random(3000, 9), true).inputEnded())
        .map(back -> assertThat(back).hasSize(3000))
        .onComplete(ctx.succeedingThenComplete());
  }

  /** The node dials the gateway through a {@link Forwarder} for the test that silences a link. */
  private static boolean throughForwarder(TestInfo info) {
    return info.getTestMethod().map(m -> m.getName().startsWith("aLinkThatGoesSilent")).orElse(false);
  }

  /** The node names its gateway and its target by host name for the test about names. */
  private static boolean byName(TestInfo info) {
    return info.getTestMethod().map(m -> m.getName().startsWith("aNodeThatNames")).orElse(false);
  }

  /** One link per node for the test about refused links; the default otherwise. */
  private static int maxLinksPerNode(TestInfo info) {
    return info.getTestMethod().map(m -> m.getName().startsWith("aLinkTheGatewayRefuses")).orElse(false)
        ? 1 : GatewayOptions.DEFAULT_MAX_LINKS_PER_NODE;
  }

  // ---------------------------------------------------------------- helpers

  /**
   * {@code tunnels} tunnels at once, tunnel i sending {@code size + i} bytes of its own to the echo
   * backend and half-closing; each must get exactly its bytes back, and the backend must have
   * accepted one connection per tunnel.
   */
  private Future<Void> echoTunnels(int tunnels, int size) {
    List<Future<Boolean>> all = new ArrayList<>();
    for (int i = 0; i < tunnels; i++) {
      byte[] payload = random(size + i, i);
      all.add(open().compose(stream -> TunnelEnd.attach(stream).send(payload, true).inputEnded())
          .map(back -> Arrays.equals(back, payload)));
    }
    return Future.all(all).map(done -> {
      for (int i = 0; i < tunnels; i++) {
        assertThat(done.<Boolean>resultAt(i)).as("tunnel " + i + " got its own bytes back").isTrue();
      }
      assertThat(backend.accepted.get()).isEqualTo(tunnels);
      return null;
    });
  }

  private Future<PeekedConnection> open() {
    return open(io.netty.buffer.Unpooled.EMPTY_BUFFER);
  }

  /** A tunnel that has carried {@code first} to the echo backend and back, still open. */
  private Future<TunnelEnd> echoed(byte[] first) {
    return open().compose(stream -> {
      TunnelEnd end = TunnelEnd.attach(stream);
      end.send(first, false);
      return eventually(() -> end.received() == first.length).map(end);
    });
  }

  /** An open as the frontend makes it, carrying {@code first} (the caller keeps it: GatewayLink). */
  private Future<PeekedConnection> open(io.netty.buffer.ByteBuf first) {
    return open(first, DataPlane.group().next());
  }

  /** An open made by a client accepted on {@code loop}. */
  private Future<PeekedConnection> open(io.netty.buffer.ByteBuf first, EventLoop loop) {
    Promise<PeekedConnection> opened = Promise.promise();
    localLinks.local(GATEWAY_ID).orElseThrow()
        .open(new OpenRequest(NODE_ID, EPOCH, FQDN, 443, CLIENT, "fe-seam"), first, loop)
        .addListener(f -> {
          if (f.isSuccess()) {
            SplicedEnd.socket((LinkStreams.End) f.getNow()).onComplete(opened);
          } else {
            opened.fail(f.cause());
          }
        });
    return opened.future();
  }

  private Future<Void> linksUp(int count) {
    return eventually(() -> gateway.linkConnections(NODE_ID) == count && node.linkConnections() == count
        && gatewayGauge("funnel.gateway.link.connections") == count);
  }

  /** The gateway's own view of the node's link connections (what it would drop). */
  private List<Channel> gatewaySideLinks() {
    try {
      java.lang.reflect.Field field = GatewayVerticle.class.getDeclaredField("directory");
      field.setAccessible(true);
      LinkDirectory directory = (LinkDirectory) field.get(gateway);
      return directory.byNode(NODE_ID).orElseThrow().connections();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private double gatewayGauge(String name) {
    return gateway.meterRegistry().get(name).gauge().value();
  }

  private double nodeTunnels() {
    Gauge gauge = nodeMeters.find("funnel.tunnels.active").gauge();
    return gauge == null ? 0 : gauge.value();
  }

  private double nodeCounter(String name, String direction) {
    var counter = nodeMeters.find(name).tag("direction", direction).counter();
    return counter == null ? 0 : counter.count();
  }

  /**
   * {@link #eventually}, but a failure naming what was seen ({@code state}) when the condition
   * does not hold within {@code millis}, where the test's timeout would say nothing.
   */
  private Future<Void> within(long millis, BooleanSupplier condition, Supplier<String> state) {
    Promise<Void> promise = Promise.promise();
    long timer = vertx.setTimer(millis, id -> promise.tryFail(new AssertionError(state.get())));
    check(condition, promise);
    return promise.future().onComplete(done -> vertx.cancelTimer(timer));
  }

  /** Re-checks {@code condition} every 20 ms until it holds; the test's timeout bounds the wait. */
  private Future<Void> eventually(BooleanSupplier condition) {
    Promise<Void> promise = Promise.promise();
    check(condition, promise);
    return promise.future();
  }

  private void check(BooleanSupplier condition, Promise<Void> promise) {
    if (promise.future().isComplete()) {
      return;
    }
    if (condition.getAsBoolean()) {
      promise.tryComplete();
    } else {
      vertx.setTimer(20, id -> check(condition, promise));
    }
  }

  private static <T> Future<Throwable> expectFailure(Future<T> future) {
    return future.transform(result -> result.failed() ? Future.succeededFuture(result.cause())
        : Future.failedFuture(new AssertionError("expected a failure, got " + result.result())));
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }
}
