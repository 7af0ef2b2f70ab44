package dev.funnel.frontend;

import dev.funnel.common.bus.Route;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Routes the registry returned, kept for a short while so the common path costs no bus round trip.
 * Entries expire after {@code ttlMillis} even if a change event was missed; the registry's
 * {@code RouteChanged} events drop them sooner. Only successes are cached. At most
 * {@code maxEntries}, the oldest evicted first.
 *
 * <p>Thread-safe (one lock; every operation is a map step): the connections of every data-plane
 * loop share one instance.
 */
final class RouteCache {

  static final int DEFAULT_MAX_ENTRIES = 10_000;

  private record Key(String host, int port) {
  }

  private record Entry(Route route, long cachedAt) {
  }

  private final long ttlMillis;
  private final LongSupplier clockMillis;
  private final LinkedHashMap<Key, Entry> entries;

  RouteCache(int maxEntries, long ttlMillis, LongSupplier clockMillis) {
    this.ttlMillis = ttlMillis;
    this.clockMillis = clockMillis;
    this.entries = new LinkedHashMap<>(64, 0.75f, false) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, Entry> eldest) {
        return size() > maxEntries;
      }
    };
  }

  /** The cached route for {@code host:port}; empty if none, or if it is older than the TTL. */
  synchronized Optional<Route> get(String host, int port) {
    Key key = new Key(host, port);
    Entry entry = entries.get(key);
    if (entry == null) {
      return Optional.empty();
    }
    if (clockMillis.getAsLong() - entry.cachedAt() >= ttlMillis) {
      entries.remove(key);
      return Optional.empty();
    }
    return Optional.of(entry.route());
  }

  synchronized void put(String host, int port, Route route) {
    if (ttlMillis <= 0) {
      return;
    }
    Key key = new Key(host, port);
    entries.remove(key);   // re-insert: a refreshed entry is the youngest
    entries.put(key, new Entry(route, clockMillis.getAsLong()));
  }

  synchronized void remove(String host, int port) {
    entries.remove(new Key(host, port));
  }

  /** Drops every port of {@code host}; {@code null} drops everything. */
  synchronized void invalidate(String host) {
    if (host == null) {
      entries.clear();
    } else {
      entries.keySet().removeIf(key -> key.host().equals(host));
    }
  }

  synchronized int size() {
    return entries.size();
  }
}
