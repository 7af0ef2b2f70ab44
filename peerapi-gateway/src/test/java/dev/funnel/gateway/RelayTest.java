package dev.funnel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.RelayPreamble;
import dev.funnel.common.net.Tunnel;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The relay port with real sockets on 127.0.0.1: a parked "node stream" (one end of a loopback TCP
 * pair) is fetched with its ticket by the frontend it was issued to, spliced both ways; every other
 * way in is refused at once.
 */
@ExtendWith(VertxExtension.class)
class RelayTest {

  private static final String FRONTEND = "fe-test";

  private Context context;
  private Relay relay;
  private NetServer nodeSide;
  private NetClient client;
  /** The node's end of the stream being parked, once the loopback pair is connected. */
  private volatile Promise<NetSocket> nodeEnd;
  /** The node's end of the last parked stream. */
  private NetSocket lastNodeEnd;

  @BeforeEach
  void setUp(Vertx vertx, VertxTestContext ctx) {
    context = vertx.getOrCreateContext();
    client = vertx.createNetClient();
    nodeSide = vertx.createNetServer().connectHandler(socket -> nodeEnd.complete(socket));
    context.runOnContext(v -> {
      relay = new Relay(vertx, new HostPort("127.0.0.1", 0), null, 2_000, 1_000);
      Future.all(relay.listen(), nodeSide.listen(0, "127.0.0.1")).onComplete(ctx.succeedingThenComplete());
    });
  }

  @AfterEach
  void tearDown(VertxTestContext ctx) {
    context.runOnContext(v -> relay.close().compose(x -> nodeSide.close()).onComplete(ctx.succeedingThenComplete()));
  }

  /** A paused stream parked on the relay for {@code frontend}, with {@code pending} bytes the node already sent. */
  private Future<OpenReply> park(String frontend, Buffer pending) {
    Promise<OpenReply> reply = Promise.promise();
    nodeEnd = Promise.promise();
    Future<NetSocket> accepted = nodeEnd.future();
    client.connect(nodeSide.actualPort(), "127.0.0.1").compose(stream -> accepted.map(end -> {
      lastNodeEnd = end;
      return stream;
    })).onComplete(ar -> context.runOnContext(v -> {
      NetSocket stream = ar.result();
      Tunnel.prepare(stream);
      stream.pause();
      reply.complete(relay.park(stream, pending, frontend));
    }));
    return reply.future();
  }

  /** Connects to the relay, writes {@code first}, collects everything until the relay closes. */
  private Future<Buffer> talk(Buffer first) {
    Promise<Buffer> all = Promise.promise();
    Buffer got = Buffer.buffer();
    client.connect(relay.actualPort(), "127.0.0.1").onSuccess(socket -> {
      socket.handler(got::appendBuffer);
      socket.closeHandler(v -> all.tryComplete(got));
      socket.write(first);
    }).onFailure(all::fail);
    return all.future();
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void theRightFrontendWithItsTicketGetsTheStreamBothWays(Vertx vertx, VertxTestContext ctx) {
    park(FRONTEND, Buffer.buffer("early")).onComplete(ctx.succeeding(reply -> {
      ctx.verify(() -> {
        assertThat(reply.isLocal()).isFalse();
        assertThat(reply.relayHost()).isEqualTo("127.0.0.1");
        assertThat(reply.relayPort()).isEqualTo(relay.actualPort());
      });
      NetSocket nodeEnd = lastNodeEnd;
      Buffer atNode = Buffer.buffer();
      nodeEnd.handler(chunk -> {
        atNode.appendBuffer(chunk);
        if (atNode.toString().equals("client hello bytes")) {
          nodeEnd.write("node answer").onComplete(w -> nodeEnd.close());
        }
      });
      Buffer preamble = RelayPreamble.encode(FRONTEND, reply.ticket()).appendString("client hello bytes");
      talk(preamble).onComplete(ctx.succeeding(atFrontend -> ctx.verify(() -> {
        assertThat(atFrontend.getByte(0)).isEqualTo((byte) RelayPreamble.Status.OK.code);
        assertThat(atFrontend.getBuffer(1, atFrontend.length()).toString()).isEqualTo("earlynode answer");
        assertThat(atNode.toString()).isEqualTo("client hello bytes");
        ctx.completeNow();
      })));
    }));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void aTicketWorksOnceAndAnUnknownOneIsRefused(Vertx vertx, VertxTestContext ctx) {
    park(FRONTEND, Buffer.buffer()).onComplete(ctx.succeeding(reply -> {
      NetSocket nodeEnd = lastNodeEnd;
      nodeEnd.handler(b -> { });
      Promise<Void> firstUsed = Promise.promise();
      client.connect(relay.actualPort(), "127.0.0.1").onSuccess(first -> {
        first.handler(b -> firstUsed.tryComplete());
        first.write(RelayPreamble.encode(FRONTEND, reply.ticket()));
      });
      firstUsed.future()
          .compose(v -> talk(RelayPreamble.encode(FRONTEND, reply.ticket())))
          .compose(again -> {
            ctx.verify(() -> assertThat(again).isEqualTo(Buffer.buffer().appendByte((byte) 1)));
            return talk(RelayPreamble.encode(FRONTEND, "no-such-ticket"));
          })
          .onComplete(ctx.succeeding(unknown -> ctx.verify(() -> {
            assertThat(unknown).isEqualTo(Buffer.buffer().appendByte((byte) RelayPreamble.Status.UNKNOWN_TICKET.code));
            ctx.completeNow();
          })));
    }));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void aTicketPresentedByAnotherFrontendIsRefusedAndBurnt(Vertx vertx, VertxTestContext ctx) {
    park(FRONTEND, Buffer.buffer()).onComplete(ctx.succeeding(reply -> {
      NetSocket nodeEnd = lastNodeEnd;
      Promise<Void> streamClosed = Promise.promise();
      nodeEnd.closeHandler(v -> streamClosed.complete());
      talk(RelayPreamble.encode("fe-other", reply.ticket()))
          .compose(answer -> {
            ctx.verify(() -> assertThat(answer).isEqualTo(
                Buffer.buffer().appendByte((byte) RelayPreamble.Status.WRONG_FRONTEND.code)));
            return streamClosed.future();
          })
          .compose(v -> talk(RelayPreamble.encode(FRONTEND, reply.ticket())))
          .onComplete(ctx.succeeding(late -> ctx.verify(() -> {
            assertThat(late).isEqualTo(Buffer.buffer().appendByte((byte) RelayPreamble.Status.UNKNOWN_TICKET.code));
            ctx.completeNow();
          })));
    }));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void garbageIsRefusedAtOnce(Vertx vertx, VertxTestContext ctx) {
    talk(Buffer.buffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
      assertThat(answer).isEqualTo(Buffer.buffer().appendByte((byte) RelayPreamble.Status.MALFORMED.code));
      ctx.completeNow();
    })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void aSilentConnectionIsClosedAtThePreambleDeadline(Vertx vertx, VertxTestContext ctx) {
    talk(Buffer.buffer("FNLR")).onComplete(ctx.succeeding(answer -> ctx.verify(() -> {
      assertThat(answer).isEqualTo(Buffer.buffer().appendByte((byte) RelayPreamble.Status.MALFORMED.code));
      ctx.completeNow();
    })));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void anUnclaimedStreamIsClosedWhenItsTicketExpires(Vertx vertx, VertxTestContext ctx) {
    park(FRONTEND, Buffer.buffer()).onComplete(ctx.succeeding(reply -> {
      NetSocket nodeEnd = lastNodeEnd;
      nodeEnd.closeHandler(v -> context.runOnContext(x -> ctx.verify(() -> {
        assertThat(relay.waiting()).isZero();
        ctx.completeNow();
      })));
    }));
  }
}
