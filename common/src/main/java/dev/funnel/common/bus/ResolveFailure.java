package dev.funnel.common.bus;

import java.util.Optional;

/** Why {@link Addresses#REGISTRY_RESOLVE} found no route. */
public enum ResolveFailure implements FailureCode {
  /** No node has that name, or it is offline. */
  NO_ROUTE(1404),
  /** The tailnet's admin has not enabled Funnel. */
  FUNNEL_OFF(1403),
  /** The tailnet does not allow this port, or the node does not funnel it. */
  PORT_NOT_ALLOWED(1421);

  private final int code;

  ResolveFailure(int code) {
    this.code = code;
  }

  @Override
  public int code() {
    return code;
  }

  public static Optional<ResolveFailure> fromCode(int code) {
    for (ResolveFailure f : values()) {
      if (f.code == code) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }
}
