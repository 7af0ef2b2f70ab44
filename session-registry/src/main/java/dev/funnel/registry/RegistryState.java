package dev.funnel.registry;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.store.ControlStore;
import dev.funnel.registry.store.NodeIdentity;
import dev.funnel.registry.store.Tailnet;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The state every part of one registry shares: the durable {@link ControlStore}, the immutable
 * {@link Snapshot} of it, the {@link SessionTable}, and the one lock that orders durable changes
 * ("write the store, swap the snapshot, fix live sessions, publish"). Store calls go through
 * {@link #blocking}, never on an event loop.
 */
final class RegistryState {

  final Vertx vertx;
  final RegistryOptions options;
  /** The public domain, normalised (lower case, no trailing dot). */
  final String domain;
  final ControlStore store;
  final SessionTable sessions;
  /** Held around every durable change. */
  final Object writeLock = new Object();
  /** This registry's id in {@link Addresses#CONTROL_CHANGED} events (so it ignores its own). */
  final String registryId = Secrets.newNodeId();
  private volatile Snapshot snapshot;
  /**
   * Session epochs: the clock in microseconds, or one more than the last when the clock has not
   * moved, so they keep rising across restarts and stay roughly in login order across registries.
   */
  private final AtomicLong epochs = new AtomicLong(System.currentTimeMillis() * 1000);

  RegistryState(Vertx vertx, RegistryOptions options, ControlStore store, Snapshot snapshot, SessionTable sessions) {
    this.vertx = vertx;
    this.options = options;
    this.domain = normaliseDomain(options.getDomain());
    this.store = store;
    this.snapshot = snapshot;
    this.sessions = sessions;
  }

  Snapshot snapshot() {
    return snapshot;
  }

  /** Swaps the snapshot; callers hold {@link #writeLock}. */
  void snapshot(Snapshot next) {
    snapshot = next;
  }

  /** The node identity {@code nodeId}, from the snapshot. */
  Optional<NodeIdentity> nodeById(String nodeId) {
    return snapshot.nodeById(nodeId);
  }

  /** The node {@code name} of {@code tailnet}, from the snapshot. */
  Optional<NodeIdentity> node(String name, String tailnet) {
    return snapshot.node(name, tailnet);
  }

  /** The tailnet {@code name}, from the snapshot. */
  Optional<Tailnet> tailnetNow(String name) {
    return snapshot.tailnet(name);
  }

  /** Tells the other registries the shared store changed. */
  void publishControlChanged() {
    vertx.eventBus().publish(Addresses.CONTROL_CHANGED, registryId);
  }

  /** The next session epoch (see {@link #epochs}). */
  long nextEpoch() {
    return epochs.updateAndGet(last -> Math.max(last + 1, System.currentTimeMillis() * 1000));
  }

  <T> Future<T> blocking(Callable<T> work) {
    return vertx.executeBlocking(work, false);
  }

  /**
   * Waits for a session-table change from blocking code (a worker thread, holding the write lock),
   * bounded by the cluster timeout; the change completes on the caller's event loop, never this thread.
   */
  <T> T awaitTable(Future<T> change) {
    try {
      return change.toCompletionStage().toCompletableFuture()
          .get(options.getClusterTimeoutMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("the session table failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the session table did not answer within " + options.getClusterTimeoutMillis()
          + " ms", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Now, to the millisecond (as the store keeps times). */
  static Instant now() {
    return Instant.now().truncatedTo(ChronoUnit.MILLIS);
  }

  static String normaliseDomain(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    return d.endsWith(".") ? d.substring(0, d.length() - 1) : d;
  }
}
