package dev.funnel.registry.store;

/** The outcome of {@link ControlStore#enrol} and {@link ControlStore#reenrol}: exactly one of these. */
public sealed interface Enrolment {

  /** The identity was created (and a one-off key marked used) in one committed transaction. */
  record Enrolled(NodeIdentity node) implements Enrolment {
  }

  /** No such key, or it is revoked, expired or already used; {@code reason} names which (never the key). */
  record KeyRefused(String reason) implements Enrolment {
  }

  /** {@code name.tailnet} already belongs to {@code owner}; nothing was written. */
  record NameTaken(NodeIdentity owner) implements Enrolment {
  }
}
