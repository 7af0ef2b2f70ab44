package dev.funnel.gateway;

import dev.funnel.common.bus.OpenFailure;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetSocket;
import java.util.ArrayDeque;

/**
 * One node's idle data connections, and the open requests waiting for one (first come, first
 * served). An idle connection must stay silent: any byte from it is a protocol violation and closes
 * it; one that closes leaves the pool. Used on the gateway's event loop only.
 */
final class DataPool {

  private static final System.Logger LOG = System.getLogger(DataPool.class.getName());

  private final Vertx vertx;
  private final GatewayMetrics metrics;
  private final String nodeId;
  private final ArrayDeque<NetSocket> idle = new ArrayDeque<>();
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

  private static final class Waiter {
    final Promise<NetSocket> promise = Promise.promise();
    long timerId;
  }

  DataPool(Vertx vertx, GatewayMetrics metrics, String nodeId) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.nodeId = nodeId;
  }

  int idleCount() {
    return idle.size();
  }

  int waiting() {
    return waiters.size();
  }

  /** Hands {@code socket} to the oldest waiting open request, or keeps it idle. The caller checked the bound. */
  void add(NetSocket socket) {
    Waiter waiter = waiters.poll();
    if (waiter != null) {
      vertx.cancelTimer(waiter.timerId);
      metrics.pooledConnectionTaken(true);
      waiter.promise.complete(detached(socket));
      return;
    }
    idle.add(socket);
    metrics.idleConnectionsChanged(1);
    socket.handler(bytes -> {
      LOG.log(System.Logger.Level.INFO, "idle data connection of {0} sent {1} bytes before any offer; closing",
          nodeId, bytes.length());
      remove(socket);
      socket.close();
    });
    socket.closeHandler(v -> remove(socket));
    socket.resume();
  }

  /**
   * An idle connection now, paused and with no handlers of ours; or, when none is idle, the first
   * one to arrive within {@code waitMillis} ({@code onEmpty} runs then, to ask the node for one).
   * Fails with {@link OpenFailure#NO_DATA_CONNECTION} when the wait runs out.
   */
  Future<NetSocket> take(long waitMillis, Runnable onEmpty) {
    NetSocket socket = idle.poll();
    if (socket != null) {
      metrics.idleConnectionsChanged(-1);
      metrics.pooledConnectionTaken(false);
      return Future.succeededFuture(detached(socket));
    }
    Waiter waiter = new Waiter();
    waiter.timerId = vertx.setTimer(waitMillis, id -> {
      if (waiters.remove(waiter)) {
        waiter.promise.fail(OpenFailure.NO_DATA_CONNECTION.exception(
            "no data connection from " + nodeId + " within " + waitMillis + " ms"));
      }
    });
    waiters.add(waiter);
    onEmpty.run();
    return waiter.promise.future();
  }

  /** The session ended: waiting opens fail with {@link OpenFailure#NODE_GONE}, idle connections close. */
  void close(String reason) {
    Waiter waiter;
    while ((waiter = waiters.poll()) != null) {
      vertx.cancelTimer(waiter.timerId);
      waiter.promise.fail(OpenFailure.NODE_GONE.exception("session of " + nodeId + " ended: " + reason));
    }
    NetSocket socket;
    while ((socket = idle.poll()) != null) {
      metrics.idleConnectionsChanged(-1);
      socket.closeHandler(null);
      socket.close();
    }
  }

  /** Paused, with no handler of ours left on it: the taker installs its own. */
  private static NetSocket detached(NetSocket socket) {
    socket.pause();
    socket.handler(null);
    socket.closeHandler(null);
    return socket;
  }

  private void remove(NetSocket socket) {
    if (idle.remove(socket)) {
      metrics.idleConnectionsChanged(-1);
    }
  }
}
