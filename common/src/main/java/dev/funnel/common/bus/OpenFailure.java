package dev.funnel.common.bus;

import java.util.Optional;

/** Why a gateway could not open a stream to a node. */
public enum OpenFailure implements FailureCode {
  /** This gateway holds no session for that node (or not that epoch). */
  NODE_GONE(3410),
  /** The node has no live link connection to this gateway (or none took the stream). */
  NO_DATA_CONNECTION(3503),
  /** The node did not answer the offer in time. */
  OFFER_TIMEOUT(3504),
  /** The node answered the offer with a refusal (400, 403, 405, 503: in the message). */
  REFUSED(3403),
  /** The node's tunnel cap is reached. */
  OVER_CAPACITY(3429);

  private final int code;

  OpenFailure(int code) {
    this.code = code;
  }

  @Override
  public int code() {
    return code;
  }

  public static Optional<OpenFailure> fromCode(int code) {
    for (OpenFailure f : values()) {
      if (f.code == code) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }
}
