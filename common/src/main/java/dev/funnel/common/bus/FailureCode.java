package dev.funnel.common.bus;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.util.Optional;

/** A coded event-bus failure: callers branch on {@link #code()}, never on message text. */
public interface FailureCode {

  int code();

  /** The exception a handler fails a message with: {@code message.reply(failure.exception("why"))}. */
  default ReplyException exception(String message) {
    return new ReplyException(ReplyFailure.RECIPIENT_FAILURE, code(), message);
  }

  /** The code carried by a failed request, when it was a recipient failure. */
  static Optional<Integer> of(Throwable failure) {
    if (failure instanceof ReplyException re && re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
      return Optional.of(re.failureCode());
    }
    return Optional.empty();
  }
}
