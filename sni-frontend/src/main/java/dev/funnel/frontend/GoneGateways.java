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

/**
 * Gateways whose process left the cluster (the registry publishes
 * {@link dev.funnel.common.bus.Addresses#GATEWAY_LEFT}), and the opens waiting on each. An open
 * sent to a gateway that was just killed would otherwise wait out the whole open timeout: the event
 * bus does not fail a request whose target process is gone. When a gateway leaves, every open
 * waiting on it fails at once with {@link Left} (the caller resolves again and tries another
 * gateway), and so does any new open to it for {@link #REMEMBER_MILLIS}.
 *
 * <p>One instance per verticle, used on its event loop only.
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

  /** A registry left the cluster while this resolve was waiting (it may have been sent there). */
  static final class RegistryLeft extends RuntimeException {
    RegistryLeft() {
      super("a registry left the cluster while the resolve waited", null, false, false);
    }
  }

  private final LongSupplier clockMillis;
  private final Map<String, Set<Promise<?>>> waiting = new HashMap<>();
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

  /** {@code request}'s outcome, unless {@code gatewayId} leaves first (then {@link Left}). */
  <T> Future<T> watch(String gatewayId, Future<T> request) {
    if (isGone(gatewayId)) {
      return Future.failedFuture(new Left(gatewayId));
    }
    Promise<T> result = Promise.promise();
    Set<Promise<?>> set = waiting.computeIfAbsent(gatewayId, id -> new LinkedHashSet<>());
    set.add(result);
    request.onComplete(ar -> {
      Set<Promise<?>> current = waiting.get(gatewayId);
      if (current != null) {
        current.remove(result);
        if (current.isEmpty()) {
          waiting.remove(gatewayId);
        }
      }
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause());
      }
    });
    return result.future();
  }

  /** {@code request}'s outcome (a resolve), unless a registry leaves first (then {@link RegistryLeft}). */
  <T> Future<T> watchResolve(Future<T> request) {
    Promise<T> result = Promise.promise();
    resolving.add(result);
    request.onComplete(ar -> {
      resolving.remove(result);
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
    List<Promise<?>> waitingResolves = new ArrayList<>(resolving);
    resolving.clear();
    for (Promise<?> p : waitingResolves) {
      p.tryFail(new RegistryLeft());
    }
  }

  /** {@code gatewayId}'s process left: fail whatever waits on it, and refuse it for a while. */
  void left(String gatewayId) {
    gone.remove(gatewayId);
    gone.put(gatewayId, clockMillis.getAsLong());
    Set<Promise<?>> set = waiting.remove(gatewayId);
    if (set != null) {
      for (Promise<?> p : new ArrayList<>(set)) {
        p.tryFail(new Left(gatewayId));
      }
    }
  }

  boolean isGone(String gatewayId) {
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
  int waiting() {
    return waiting.values().stream().mapToInt(Set::size).sum();
  }

  List<String> gone() {
    return List.copyOf(gone.keySet());
  }
}
