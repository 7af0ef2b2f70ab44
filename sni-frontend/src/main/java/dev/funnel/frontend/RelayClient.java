package dev.funnel.frontend;

import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.net.LocalStreams;
import dev.funnel.common.net.RelayPreamble;
import dev.funnel.common.net.Tunnel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;

/**
 * Fetches a node stream that a gateway in another process accepted: dials the gateway's relay
 * port, presents this frontend's id and the one-time ticket ({@link RelayPreamble}), and waits for
 * the relay's status byte. On OK the relay socket is the node's stream, handed back paused like an
 * in-JVM hand-off, with any bytes that came after the status. One instance per verticle; the
 * whole exchange is bounded by {@code timeoutMillis}.
 */
final class RelayClient {

  private final Vertx vertx;
  private final NetClient client;
  private final String frontendId;
  private final long timeoutMillis;

  RelayClient(Vertx vertx, String frontendId, long timeoutMillis) {
    this.vertx = vertx;
    this.frontendId = frontendId;
    this.timeoutMillis = timeoutMillis;
    this.client = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, timeoutMillis)))
        .setTcpNoDelay(true));
  }

  /** The stream the relay in {@code reply} holds under its ticket; fails with a reason a log line can carry. */
  Future<LocalStreams.Handoff> fetch(OpenReply reply) {
    Promise<LocalStreams.Handoff> result = Promise.promise();
    long timer = vertx.setTimer(timeoutMillis, id -> result.tryFail("the relay " + where(reply)
        + " did not answer within " + timeoutMillis + " ms"));
    client.connect(reply.relayPort(), reply.relayHost()).onComplete(connected -> {
      if (connected.failed()) {
        vertx.cancelTimer(timer);
        result.tryFail("cannot reach the relay " + where(reply) + ": " + connected.cause().getMessage());
        return;
      }
      NetSocket socket = connected.result();
      if (result.future().isComplete()) {
        socket.close();
        return;
      }
      Tunnel.prepare(socket);
      socket.handler(chunk -> {
        socket.pause();
        socket.handler(null);
        vertx.cancelTimer(timer);
        if (Tunnel.isInputEnd(chunk)) {
          socket.close();
          result.tryFail("the relay " + where(reply) + " closed without answering");
          return;
        }
        RelayPreamble.Status status = RelayPreamble.Status.of(chunk.getUnsignedByte(0));
        if (status != RelayPreamble.Status.OK) {
          socket.close();
          result.tryFail("the relay " + where(reply) + " refused the ticket (" + status + ")");
          return;
        }
        if (!result.tryComplete(new LocalStreams.Handoff(socket, chunk.getBuffer(1, chunk.length())))) {
          socket.close();
        }
      });
      socket.closeHandler(v -> {
        vertx.cancelTimer(timer);
        result.tryFail("the relay " + where(reply) + " closed without answering");
      });
      socket.write(RelayPreamble.encode(frontendId, reply.ticket()));
      result.future().onFailure(err -> socket.close());
    });
    return result.future();
  }

  Future<Void> close() {
    return client.close();
  }

  private static String where(OpenReply reply) {
    return reply.relayHost() + ":" + reply.relayPort();
  }
}
