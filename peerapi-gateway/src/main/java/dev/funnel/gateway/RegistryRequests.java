package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.SessionClosed;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.lang.System.Logger.Level;

/**
 * The gateway's requests to registries over the event bus, each bounded by the registry timeout.
 * One that was never delivered (no registry listening, or the one the event bus picked is
 * unreachable: both fail at once) is sent again, to the next registry, up to {@link #ATTEMPTS} in
 * all; safe for every request, since none reached a registry. A timeout is not retried (the request
 * may have been handled).
 */
final class RegistryRequests {

  private static final System.Logger LOG = System.getLogger(RegistryRequests.class.getName());

  /** Requests to registries when the one picked cannot be reached (each such failure is immediate). */
  static final int ATTEMPTS = 3;

  private final Vertx vertx;
  private final long timeoutMillis;

  RegistryRequests(Vertx vertx, long timeoutMillis) {
    this.vertx = vertx;
    this.timeoutMillis = timeoutMillis;
  }

  <T> Future<T> ask(String address, Object body) {
    return ask(address, body, ATTEMPTS);
  }

  /**
   * Tells the registry a session here ended; never fails: when the registry cannot be told, its
   * lease lapses instead (said at INFO while this process stops: a registry in it may have stopped
   * first).
   */
  Future<Void> sessionClosed(SessionClosed closed, boolean stopping) {
    return ask(Addresses.REGISTRY_SESSION_CLOSED, closed).<Void>mapEmpty().recover(err -> {
      LOG.log(stopping ? Level.INFO : Level.WARNING, "telling the registry that " + closed.nodeId() + " (epoch "
          + closed.epoch() + ") left failed: " + err.getMessage() + "; its lease will lapse");
      return Future.succeededFuture();
    });
  }

  private <T> Future<T> ask(String address, Object body, int attemptsLeft) {
    DeliveryOptions delivery = new DeliveryOptions().setSendTimeout(timeoutMillis);
    return vertx.eventBus().<T>request(address, body, delivery).transform(answer -> {
      if (answer.succeeded()) {
        return Future.succeededFuture(answer.result().body());
      }
      if (attemptsLeft > 1 && answer.cause() instanceof ReplyException re
          && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.ERROR)) {
        LOG.log(Level.DEBUG, () -> "request to " + address + " not delivered (" + re.getMessage() + "); sending again");
        return ask(address, body, attemptsLeft - 1);
      }
      return Future.failedFuture(answer.cause());
    });
  }
}
