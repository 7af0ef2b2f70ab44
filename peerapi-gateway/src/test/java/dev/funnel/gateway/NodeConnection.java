package dev.funnel.gateway;

import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.FrameReader;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.ArrayList;

/**
 * The node's side of one connection to the gateway, for tests: reads control frames (or, after
 * {@link #switchToRaw()}, raw bytes such as an ingress offer) and sends messages. Thread-safe: its
 * socket's handler and the test's callbacks may run on different event loops.
 */
final class NodeConnection {

  final NetSocket socket;
  private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
  private final Deque<ControlMessage> inbox = new ArrayDeque<>();
  private final Deque<Promise<ControlMessage>> waitingForMessage = new ArrayDeque<>();
  private final Promise<Void> closed = Promise.promise();
  private boolean isClosed;
  private Buffer raw;
  private int rawWanted;
  private Promise<Buffer> waitingForRaw;

  private NodeConnection(NetSocket socket) {
    this.socket = socket;
    socket.handler(this::onBytes);
    socket.closeHandler(v -> onClosed());
  }

  static Future<NodeConnection> open(NetClient client, int port) {
    return client.connect(port, "127.0.0.1").map(NodeConnection::new);
  }

  /** The next control message, whatever it is. */
  synchronized Future<ControlMessage> next() {
    ControlMessage message = inbox.poll();
    if (message != null) {
      return Future.succeededFuture(message);
    }
    if (isClosed) {
      return Future.failedFuture("connection closed");
    }
    Promise<ControlMessage> promise = Promise.promise();
    waitingForMessage.add(promise);
    return promise.future();
  }

  /** The next message of {@code type}, skipping any other (pings, top-up requests…). */
  <T extends ControlMessage> Future<T> next(Class<T> type) {
    return next().compose(message -> type.isInstance(message)
        ? Future.succeededFuture(type.cast(message)) : next(type));
  }

  void send(ControlMessage message) {
    socket.write(message.encode());
  }

  void write(Buffer bytes) {
    socket.write(bytes);
  }

  /** From now on bytes are not frames: read them with {@link #rawBytes}. */
  synchronized void switchToRaw() {
    raw = reader.remainder().copy();
  }

  /** The next {@code length} raw bytes. */
  Future<Buffer> rawBytes(int length) {
    Promise<Buffer> promise = Promise.promise();
    List<Runnable> completions = new ArrayList<>();
    synchronized (this) {
      if (waitingForRaw != null) {
        return Future.failedFuture("already reading");
      }
      waitingForRaw = promise;
      rawWanted = length;
      deliverRaw(completions);
    }
    completions.forEach(Runnable::run);
    return promise.future();
  }

  /** Completes when the gateway has closed this connection. */
  Future<Void> closed() {
    return closed.future();
  }

  // Promises are completed outside the lock: their callbacks may touch other connections.

  private void onBytes(Buffer chunk) {
    List<Runnable> completions = new ArrayList<>();
    synchronized (this) {
      if (raw != null) {
        raw.appendBuffer(chunk);
        deliverRaw(completions);
      } else {
        try {
          for (ControlMessage message : reader.feed(chunk)) {
            Promise<ControlMessage> waiting = waitingForMessage.poll();
            if (waiting != null) {
              completions.add(() -> waiting.complete(message));
            } else {
              inbox.add(message);
            }
          }
        } catch (ControlMessage.InvalidMessage e) {
          completions.add(socket::close);
        }
      }
    }
    completions.forEach(Runnable::run);
  }

  private void deliverRaw(List<Runnable> completions) {
    if (waitingForRaw != null && raw.length() >= rawWanted) {
      Promise<Buffer> waiting = waitingForRaw;
      waitingForRaw = null;
      Buffer head = raw.getBuffer(0, rawWanted);
      raw = raw.getBuffer(rawWanted, raw.length());
      completions.add(() -> waiting.complete(head));
    }
  }

  private void onClosed() {
    List<Promise<?>> failing = new ArrayList<>();
    synchronized (this) {
      isClosed = true;
      failing.addAll(waitingForMessage);
      waitingForMessage.clear();
      if (waitingForRaw != null) {
        failing.add(waitingForRaw);
        waitingForRaw = null;
      }
    }
    closed.tryComplete();
    failing.forEach(p -> p.tryFail("connection closed"));
  }
}
