package dev.funnel.common.net;

/**
 * Paces one direction of a {@link Tunnel}: after the tunnel forwarded {@code bytes} from a source,
 * how long the source must wait before it is read again. Shaping, not dropping: every byte is
 * carried, the source is only paused (TCP flow control then slows the sender down). A pacer shared
 * by several tunnels (a per-tailnet budget) is called from their event loops at once, so it must
 * be thread-safe.
 */
@FunctionalInterface
public interface Pacer {

  /** Never waits. */
  Pacer NONE = bytes -> 0;

  /** Nanoseconds the source must wait now that {@code bytes} more went through; 0 or less: none. */
  long delayNanos(long bytes);
}
