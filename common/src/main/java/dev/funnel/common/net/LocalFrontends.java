package dev.funnel.common.net;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The frontends running in this JVM, by id. A gateway that is asked for a stream by one of them
 * hands it over in memory ({@link LocalStreams}); any other frontend is on another process and is
 * given a relay address and ticket instead.
 */
public final class LocalFrontends {

  private static final ConcurrentHashMap<String, Integer> RUNNING = new ConcurrentHashMap<>();

  private LocalFrontends() {
  }

  /** A frontend with {@code id} started in this JVM (several instances may share an id). */
  public static void register(String id) {
    RUNNING.merge(id, 1, Integer::sum);
  }

  /** One instance with {@code id} stopped. */
  public static void unregister(String id) {
    RUNNING.computeIfPresent(id, (k, n) -> n <= 1 ? null : n - 1);
  }

  /** True when a frontend with this id runs in this JVM. */
  public static boolean isLocal(String id) {
    return id != null && RUNNING.containsKey(id);
  }
}
