package dev.funnel.registry;

import dev.funnel.common.bus.LoginFailure;
import io.vertx.core.Future;
import io.vertx.core.eventbus.ReplyException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/** A node's request refused: one INFO line saying where and why, and the {@link LoginFailure}-coded reply. */
final class Refusals {

  /** The registry's log (these lines have always been under {@link RegistryService}'s name). */
  private static final Logger LOG = System.getLogger(RegistryService.class.getName());

  private Refusals() {
  }

  static ReplyException refusal(String where, LoginFailure failure, String reason) {
    LOG.log(Level.INFO, "{0}: {1}; rejecting", where, reason);
    return failure.exception(reason);
  }

  static <T> Future<T> refuse(String where, LoginFailure failure, String reason) {
    return Future.failedFuture(refusal(where, failure, reason));
  }
}
