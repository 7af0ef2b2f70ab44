package dev.funnel.frontend;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Gateways whose process left the cluster (the registry publishes
 * {@link dev.funnel.common.bus.Addresses#GATEWAY_LEFT}) and node sessions the registry withdrew
 * ({@link dev.funnel.common.bus.Addresses#SESSION_WITHDRAWN}: above all, a session the node itself
 * reported lost the moment its connection to the gateway dropped), and the opens waiting on each.
 * An open sent to a gateway that was just killed may otherwise wait out the whole open timeout.
 * When a gateway leaves, or a session is withdrawn, every open waiting on it fails at once with
 * {@link Left} or {@link Withdrawn} (the caller resolves again and tries another gateway), and so
 * does any new open to it for {@link #REMEMBER_MILLIS} (a route resolved just before the
 * withdrawal, or cached, may still name it).
 *
 * <p>Thread-safe: one lock guards the maps; promises are failed outside it (their callbacks may
 * come back here). Connections on every data-plane loop share one instance.
 */
final class GoneGateways {

  static final long REMEMBER_MILLIS = 60_000;
  static final int MAX_REMEMBERED = 1_024;

  /** The open's gateway left the cluster. */
  static final class Left extends RuntimeException {
    Left(String gatewayId) {
      super("gateway " + gatewayId + " left the cluster", null, false, false);
    }
  }

  /** The registry withdrew the node session the open went to. */
  static final class Withdrawn extends RuntimeException {
    Withdrawn(String gatewayId, String nodeId, long epoch) {
      super("the registry withdrew node " + nodeId + "'s session on " + gatewayId + " (epoch " + epoch + ")", null,
          false, false);
    }
  }

  /** One node session: where an open goes. */
  private record SessionKey(String gatewayId, String nodeId, long epoch) {
  }

  /** A registry left the cluster while this resolve was waiting (it may have been sent there). */
  static final class RegistryLeft extends RuntimeException {
    RegistryLeft() {
      super("a registry left the cluster while the resolve waited", null, false, false);
    }
  }

  private final LongSupplier clockMillis;
  private final Map<String, Set<Promise<?>>> waiting = new HashMap<>();
  private final Map<SessionKey, Set<Promise<?>>> waitingOnSession = new HashMap<>();
  private final LinkedHashMap<SessionKey, Long> withdrawn = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<SessionKey, Long> eldest) {
      return size() > MAX_REMEMBERED;
    }
  };
  private final Set<Promise<?>> resolving = new LinkedHashSet<>();
  private final LinkedHashMap<String, Long> gone = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > MAX_REMEMBERED;
    }
  };

  GoneGateways(LongSupplier clockMillis) {
    this.clockMillis = clockMillis;
  }

  /**
   * {@code request}'s outcome (an open of node {@code nodeId}'s session {@code epoch} on
   * {@code gatewayId}), unless the gateway leaves first (then {@link Left}) or the registry withdraws
   * that session first (then {@link Withdrawn}). Fails at once, without waiting, when either has
   * already happened: call it before sending the request, with the request's future made lazily.
   */
  <T> Future<T> watch(String gatewayId, String nodeId, long epoch, Supplier<Future<T>> request) {
    SessionKey session = new SessionKey(gatewayId, nodeId, epoch);
    Promise<T> result = Promise.promise();
    synchronized (this) {
      if (isGone(gatewayId)) {
        return Future.failedFuture(new Left(gatewayId));
      }
      if (isWithdrawn(session)) {
        return Future.failedFuture(new Withdrawn(gatewayId, nodeId, epoch));
      }
      waiting.computeIfAbsent(gatewayId, id -> new LinkedHashSet<>()).add(result);
      waitingOnSession.computeIfAbsent(session, id -> new LinkedHashSet<>()).add(result);
    }
    request.get().onComplete(ar -> {
      synchronized (this) {
        forget(waiting, gatewayId, result);
        forget(waitingOnSession, session, result);
      }
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause());
      }
    });
    return result.future();
  }

  private static <K> void forget(Map<K, Set<Promise<?>>> map, K key, Promise<?> promise) {
    Set<Promise<?>> current = map.get(key);
    if (current != null) {
      current.remove(promise);
      if (current.isEmpty()) {
        map.remove(key);
      }
    }
  }

  /** {@code request}'s outcome (a resolve), unless a registry leaves first (then {@link RegistryLeft}). */
  <T> Future<T> watchResolve(Future<T> request) {
    Promise<T> result = Promise.promise();
    synchronized (this) {
      resolving.add(result);
    }
    request.onComplete(ar -> {
      synchronized (this) {
        resolving.remove(result);
      }
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause());
      }
    });
    return result.future();
  }

  /** A registry's process left: every resolve still waiting fails with {@link RegistryLeft}, to be asked again. */
  void registryLeft() {
    List<Promise<?>> waitingResolves;
    synchronized (this) {
      waitingResolves = new ArrayList<>(resolving);
      resolving.clear();
    }
    for (Promise<?> p : waitingResolves) {
      p.tryFail(new RegistryLeft());
    }
  }

  /** {@code gatewayId}'s process left: fail whatever waits on it, and refuse it for a while. */
  void left(String gatewayId) {
    Set<Promise<?>> set;
    synchronized (this) {
      gone.remove(gatewayId);
      gone.put(gatewayId, clockMillis.getAsLong());
      set = waiting.remove(gatewayId);
    }
    if (set != null) {
      for (Promise<?> p : new ArrayList<>(set)) {
        p.tryFail(new Left(gatewayId));
      }
    }
  }

  /**
   * The registry withdrew node {@code nodeId}'s session {@code epoch} on {@code gatewayId}: fail the
   * opens waiting on it, and refuse new ones for a while. Opens of the node's other sessions, and of
   * other nodes on that gateway, are left alone.
   */
  void withdrawn(String gatewayId, String nodeId, long epoch) {
    SessionKey session = new SessionKey(gatewayId, nodeId, epoch);
    Set<Promise<?>> set;
    synchronized (this) {
      withdrawn.remove(session);
      withdrawn.put(session, clockMillis.getAsLong());
      set = waitingOnSession.remove(session);
    }
    if (set != null) {
      for (Promise<?> p : new ArrayList<>(set)) {
        p.tryFail(new Withdrawn(gatewayId, nodeId, epoch));
      }
    }
  }

  private synchronized boolean isWithdrawn(SessionKey session) {
    Long since = withdrawn.get(session);
    if (since == null) {
      return false;
    }
    if (clockMillis.getAsLong() - since >= REMEMBER_MILLIS) {
      withdrawn.remove(session);
      return false;
    }
    return true;
  }

  synchronized boolean isGone(String gatewayId) {
    Long since = gone.get(gatewayId);
    if (since == null) {
      return false;
    }
    if (clockMillis.getAsLong() - since >= REMEMBER_MILLIS) {
      gone.remove(gatewayId);
      return false;
    }
    return true;
  }

  /** Opens waiting right now (tests). */
  synchronized int waiting() {
    return waiting.values().stream().mapToInt(Set::size).sum();
  }

  /** Opens waiting on one node session right now (tests). */
  synchronized int waitingOn(String gatewayId, String nodeId, long epoch) {
    Set<Promise<?>> set = waitingOnSession.get(new SessionKey(gatewayId, nodeId, epoch));
    return set == null ? 0 : set.size();
  }

  synchronized List<String> gone() {
    return List.copyOf(gone.keySet());
  }
}
