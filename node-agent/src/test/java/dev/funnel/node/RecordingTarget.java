package dev.funnel.node;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local target on 127.0.0.1:0 that records what its first connection receives. With a reply,
 * once {@code replyAfter} bytes have arrived it writes the reply and closes; otherwise it records
 * until the peer closes.
 */
final class RecordingTarget {

  private final Vertx vertx;
  private final int replyAfter;
  private final Buffer reply;
  private final Promise<Buffer> received = Promise.promise();
  private final AtomicInteger connections = new AtomicInteger();
  private NetServer server;

  RecordingTarget(Vertx vertx, int replyAfter, Buffer reply) {
    this.vertx = vertx;
    this.replyAfter = replyAfter;
    this.reply = reply;
  }

  /** Records until the peer closes. */
  RecordingTarget(Vertx vertx) {
    this(vertx, -1, null);
  }

  Future<RecordingTarget> listen() {
    server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0));
    server.connectHandler(socket -> {
      connections.incrementAndGet();
      Buffer got = Buffer.buffer();
      socket.handler(chunk -> {
        got.appendBuffer(chunk);
        if (replyAfter >= 0 && got.length() >= replyAfter && !received.future().isComplete()) {
          received.tryComplete(got.copy());
          socket.write(reply).onComplete(ar -> socket.close());
        }
      });
      socket.closeHandler(v -> received.tryComplete(got.copy()));
    });
    return server.listen().map(s -> this);
  }

  int port() {
    return server.actualPort();
  }

  int connections() {
    return connections.get();
  }

  /** What the first connection received (complete when it replied or closed). */
  Future<Buffer> received() {
    return received.future();
  }
}
