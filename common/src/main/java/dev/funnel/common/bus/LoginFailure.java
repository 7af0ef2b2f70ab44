package dev.funnel.common.bus;

import java.util.Optional;

/** Why the registry refused a node's session (or a lease renewal). */
public enum LoginFailure implements FailureCode {
  /** Unknown, revoked, expired or already-used auth key. */
  BAD_KEY(2401),
  /** The hostname is not a DNS label, or a port is not a Funnel port. */
  BAD_REQUEST(2400),
  /** Another node owns that name. */
  NAME_TAKEN(2409),
  /** The node's proof of its node key did not verify. */
  BAD_NODE_KEY(2403),
  /** The registry holds no such lease (it restarted, or the lease lapsed): log in again. */
  LEASE_UNKNOWN(2410);

  private final int code;

  LoginFailure(int code) {
    this.code = code;
  }

  @Override
  public int code() {
    return code;
  }

  public static Optional<LoginFailure> fromCode(int code) {
    for (LoginFailure f : values()) {
      if (f.code == code) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }
}
