package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.RelayPreamble;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The frontend when gateways are other processes: it fetches accepted streams from a gateway's
 * relay port with the one-time ticket (bytes exact both ways), treats a relay refusal as a stale
 * route, and, when a gateway's process leaves the cluster, fails over the opens waiting on it to
 * the node's other session at once (without waiting out the open timeout).
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RelayFailoverTest {

  static final String FRONTEND = "fe-test";

  Vertx vertx;
  FrontendVerticle frontend;
  NetServer relay;
  /** What the relay received from the frontend: the preamble's fields, then the client's bytes. */
  final Queue<String> presented = new ConcurrentLinkedQueue<>();
  final Queue<Buffer> relayed = new ConcurrentLinkedQueue<>();
  /** Status the relay answers with, in order; OK once empty. */
  final Queue<RelayPreamble.Status> relayAnswers = new ConcurrentLinkedQueue<>();
  final List<String> avoided = new CopyOnWriteArrayList<>();
  final List<String> opensTo = new CopyOnWriteArrayList<>();
  /** The gateway of the node's newest session, as the fake registry says. */
  volatile String newest = "gw-A";
  /** The node has one session only: the registry has no other to offer. */
  volatile boolean onlyNewest;

  @BeforeEach
  void deploy() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx());
    relay = vertx.createNetServer().connectHandler(socket -> {
      Buffer got = Buffer.buffer();
      int[] preambleLength = {-1};
      socket.handler(chunk -> {
        got.appendBuffer(chunk);
        if (preambleLength[0] < 0 && RelayPreamble.parse(got) instanceof RelayPreamble.Parsed p) {
          preambleLength[0] = p.length();
          presented.add(p.frontendId() + " " + p.ticket());
          RelayPreamble.Status status = relayAnswers.poll();
          if (status != null) {
            socket.write(Buffer.buffer().appendByte((byte) status.code)).onComplete(w -> socket.close());
            return;
          }
          socket.write(Buffer.buffer().appendByte((byte) 0));
        }
        // After OK the frontend writes the ClientHello, exactly as the client sent it.
        if (preambleLength[0] >= 0 && got.length() > preambleLength[0]
            && Hellos.jdk("TLSv1.3", NAME).length() == got.length() - preambleLength[0]) {
          relayed.add(got.getBuffer(preambleLength[0], got.length()));
          socket.write(Buffer.buffer("node says hi")).onComplete(w -> socket.close());
        }
      });
    });
    relay.listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    // The registry: gw-A holds the newest session; gw-B the other one, chosen when gw-A is to be avoided.
    vertx.eventBus().<ResolveRequest>consumer(Addresses.REGISTRY_RESOLVE, message -> {
      String avoid = message.headers().get(Addresses.HEADER_AVOID_GATEWAY);
      if (avoid != null) {
        avoided.add(avoid);
      }
      String other = newest.equals("gw-A") ? "gw-B" : "gw-A";
      String gateway = newest.equals(avoid) && !onlyNewest ? other : newest;
      message.reply(new Route(message.body().host(), message.body().port(), "node-7", gateway, 1));
    });
    // gw-A's process is gone: its address still has a consumer here that never answers, as a
    // request to a killed member hangs until its timeout.
    vertx.eventBus().<OpenRequest>consumer(Addresses.gatewayOpen("gw-A"), message -> opensTo.add("gw-A"));
    vertx.eventBus().<OpenRequest>consumer(Addresses.gatewayOpen("gw-B"), message -> {
      opensTo.add("gw-B");
      message.reply(new OpenReply("ticket-" + opensTo.size(), "127.0.0.1", relay.actualPort()));
    }).completion().await(5, TimeUnit.SECONDS);
    frontend = new FrontendVerticle(new FrontendOptions()
        .setFrontendId(FRONTEND)
        .setDomain("funnel.localhost")
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setOpenTimeoutMillis(60_000)      // far beyond the test's timeout: only the fail-over can finish it
        .setRouteCacheMillis(60_000));
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private byte[] exchange(byte[] hello) throws Exception {
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      return readToEnd(client);
    }
  }

  @Test
  void aGatewayThatLeftTheClusterFailsItsWaitingOpensOverToTheOtherSession() throws Exception {
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    Thread publisher = new Thread(() -> {
      while (!opensTo.contains("gw-A")) {
        Thread.onSpinWait();
      }
      vertx.eventBus().publish(Addresses.GATEWAY_LEFT, "gw-A");
    });
    publisher.start();

    byte[] answer = exchange(hello);

    assertThat(new String(answer, StandardCharsets.ISO_8859_1)).isEqualTo("node says hi");
    assertThat(opensTo).containsExactly("gw-A", "gw-B");
    assertThat(avoided).containsExactly("gw-A");
    assertThat(presented).containsExactly(FRONTEND + " ticket-2");
    assertThat(relayed.poll().getBytes()).isEqualTo(hello);

    // Another connection now: gw-A is remembered as gone, so its cached route fails over at once.
    assertThat(new String(exchange(hello), StandardCharsets.ISO_8859_1)).isEqualTo("node says hi");
    assertThat(opensTo).containsExactly("gw-A", "gw-B", "gw-B");
  }

  @Test
  void aRelayThatRefusesTheTicketTwiceGetsInternalError() throws Exception {
    newest = "gw-B";
    onlyNewest = true;
    relayAnswers.add(RelayPreamble.Status.UNKNOWN_TICKET);
    relayAnswers.add(RelayPreamble.Status.WRONG_FRONTEND);
    byte[] answer = exchange(Hellos.jdk("TLSv1.3", NAME).getBytes());
    assertThat(answer).isEqualTo(new byte[] {21, 3, 3, 0, 2, 2, (byte) TlsAlert.INTERNAL_ERROR.description()});
    assertThat(presented).hasSize(2);
    assertThat(opensTo).containsExactly("gw-B", "gw-B");
  }

  @Test
  void aResolveWaitingOnARegistryThatLeftIsAskedAgain() throws Exception {
    newest = "gw-B";
    onlyNewest = true;
    // A second registry whose process is gone: its consumer never answers (as a request to a
    // killed member waits for its timeout). The bus alternates between the two registries.
    java.util.concurrent.atomic.AtomicInteger toTheDeadOne = new java.util.concurrent.atomic.AtomicInteger();
    vertx.eventBus().consumer(Addresses.REGISTRY_RESOLVE, m -> toTheDeadOne.incrementAndGet())
        .completion().await(5, TimeUnit.SECONDS);
    Thread publisher = new Thread(() -> {
      while (toTheDeadOne.get() == 0) {
        Thread.onSpinWait();
      }
      vertx.eventBus().publish(Addresses.REGISTRY_LEFT, "member-of-the-dead-registry");
    });
    publisher.start();
    byte[] hello = Hellos.jdk("TLSv1.3", NAME).getBytes();
    for (int i = 0; i < 4 && toTheDeadOne.get() == 0; i++) {
      vertx.eventBus().publish(Addresses.ROUTES_CHANGED, dev.funnel.common.bus.RouteChanged.ALL);
      assertThat(new String(exchange(hello), StandardCharsets.ISO_8859_1)).isEqualTo("node says hi");
    }
    assertThat(toTheDeadOne.get()).as("a resolve went to the dead registry and was asked again").isEqualTo(1);
  }
}
