package dev.funnel.registry;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.MapEvent;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryEvictedListener;
import com.hazelcast.map.listener.EntryExpiredListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import com.hazelcast.map.listener.MapClearedListener;
import dev.funnel.common.cluster.ClusterMaps;
import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The session table every registry of a cluster shares: one entry per node in the Hazelcast map
 * {@link ClusterMaps#LIVE_SESSIONS} (one synchronous backup), changed only through
 * {@link SessionsProcessor} so concurrent registries never lose each other's writes.
 *
 * <p>Each registry keeps a local view of the map, fed by the map's entry events and by the results
 * of its own writes, so resolving a name costs no cluster round trip. Entries carry a version: an
 * event older than what the view holds is ignored. {@link #fetch} reads the map itself, for the
 * moment between another registry's write and its event.
 *
 * <p>The view keeps serving while the map cannot be written. When a member dies, the partitions it
 * owned take no reads or writes until the cluster has removed it (seconds; more on a loaded
 * machine), so a renewal may not land before the lease it extends runs out. A session therefore
 * counts as live in the view until the map withdraws it (the sweep removes a lapsed lease within a
 * sweep period) or, at the latest, {@code staleLeaseGraceMillis} after its lease ran out. And a
 * session withdrawn by this registry or announced withdrawn by another
 * ({@link #markWithdrawn}) is out of the view at once, for {@link #WITHDRAWN_MEMORY_MILLIS}.
 */
final class ClusterSessionTable implements SessionTable {

  private static final System.Logger LOG = System.getLogger(ClusterSessionTable.class.getName());

  /** One node's entry as this registry last saw it. */
  private record Versioned(long version, List<Live> sessions) {
  }

  /** How long a withdrawn session stays out of the view whatever the map says (its epoch never comes back). */
  static final long WITHDRAWN_MEMORY_MILLIS = 10 * 60_000;
  /** At most this many withdrawn sessions are remembered; past it, the oldest are forgotten first. */
  static final int MAX_WITHDRAWN = 10_000;

  /** One session of one node. */
  private record SessionKey(String nodeId, String gatewayId, long epoch) {
  }

  private final Vertx vertx;
  private final IMap<String, String> map;
  private final long timeoutMillis;
  private final long staleLeaseGraceMillis;
  private final ConcurrentHashMap<String, Versioned> view = new ConcurrentHashMap<>();
  /** Withdrawn sessions → when this registry heard (epoch millis). */
  private final ConcurrentHashMap<SessionKey, Long> withdrawn = new ConcurrentHashMap<>();
  private volatile UUID listener;

  private ClusterSessionTable(Vertx vertx, IMap<String, String> map, long timeoutMillis, long staleLeaseGraceMillis) {
    this.vertx = vertx;
    this.map = map;
    this.timeoutMillis = timeoutMillis;
    this.staleLeaseGraceMillis = staleLeaseGraceMillis;
  }

  /**
   * Follows the shared table: subscribes to its events, then loads what it holds. Writes and map
   * reads fail after {@code timeoutMillis}; a session stays live in the view at most
   * {@code staleLeaseGraceMillis} past its lease while the map has not withdrawn it.
   */
  static Future<ClusterSessionTable> open(Vertx vertx, HazelcastInstance hazelcast, long timeoutMillis,
                                          long staleLeaseGraceMillis) {
    return vertx.executeBlocking(() -> {
      IMap<String, String> map = hazelcast.getMap(ClusterMaps.LIVE_SESSIONS);
      ClusterSessionTable table = new ClusterSessionTable(vertx, map, timeoutMillis, staleLeaseGraceMillis);
      table.listener = map.addEntryListener(table.new Events(), true);
      for (Map.Entry<String, String> entry : map.entrySet()) {
        table.accept(entry.getKey(), entry.getValue());
      }
      LOG.log(System.Logger.Level.INFO, "following the live sessions of the cluster: {0} nodes", table.view.size());
      return table;
    });
  }

  @Override
  public Future<Void> close() {
    UUID id = listener;
    if (id == null) {
      return Future.succeededFuture();
    }
    listener = null;
    return vertx.executeBlocking(() -> map.removeEntryListener(id), false).mapEmpty();
  }

  // ---------------------------------------------------------------- reads (local view)

  @Override
  public List<Live> live(String nodeId, long now) {
    Versioned v = view.get(nodeId);
    if (v == null) {
      return List.of();
    }
    return v.sessions().stream()
        .filter(l -> now < l.expiresAt() + staleLeaseGraceMillis)
        .filter(l -> !isWithdrawn(new SessionKey(nodeId, l.gatewayId(), l.epoch()), now))
        .toList();
  }

  @Override
  public void markWithdrawn(String nodeId, String gatewayId, long epoch) {
    long now = System.currentTimeMillis();
    withdrawn.put(new SessionKey(nodeId, gatewayId, epoch), now);
    if (withdrawn.size() > MAX_WITHDRAWN) {
      withdrawn.values().removeIf(at -> now - at >= WITHDRAWN_MEMORY_MILLIS);
      while (withdrawn.size() > MAX_WITHDRAWN) {
        withdrawn.entrySet().stream().min(Map.Entry.comparingByValue())
            .ifPresent(oldest -> withdrawn.remove(oldest.getKey(), oldest.getValue()));
      }
    }
  }

  private boolean isWithdrawn(SessionKey key, long now) {
    Long at = withdrawn.get(key);
    return at != null && now - at < WITHDRAWN_MEMORY_MILLIS;
  }

  /** The sessions of {@code nodeId} this registry knows withdrawn, as {@link SessionLists#key}s. */
  private JsonArray withdrawnOf(String nodeId, long now) {
    JsonArray out = new JsonArray();
    withdrawn.forEach((key, at) -> {
      if (key.nodeId().equals(nodeId) && now - at < WITHDRAWN_MEMORY_MILLIS) {
        out.add(SessionLists.key(key.gatewayId(), key.epoch()));
      }
    });
    return out;
  }

  @Override
  public Future<List<Live>> fetch(String nodeId, long now) {
    return stage(map.getAsync(nodeId)).map(value -> {
      if (value != null) {
        accept(nodeId, value);
      }
      return live(nodeId, now);
    });
  }

  @Override
  public int size() {
    return view.values().stream().mapToInt(v -> v.sessions().size()).sum();
  }

  // ---------------------------------------------------------------- writes (through the processor)

  @Override
  public Future<List<Live>> put(Live session) {
    JsonObject args = new JsonObject().put("session", SessionLists.toJson(session))
        .put("withdrawn", withdrawnOf(session.nodeId(), System.currentTimeMillis()));
    return change(session.nodeId(), SessionsProcessor.Op.PUT, args).map(c -> SessionLists.gone(c.before(), c.after()));
  }

  @Override
  public Future<Optional<Live>> renew(String nodeId, String gatewayId, long epoch, long now, long expiresAt) {
    return change(nodeId, SessionsProcessor.Op.RENEW, new JsonObject().put("gatewayId", gatewayId).put("epoch", epoch)
        .put("now", now).put("expiresAt", expiresAt))
        .map(c -> changed(c, gatewayId, epoch, expiresAt));
  }

  @Override
  public Future<Optional<Live>> updatePorts(String nodeId, String gatewayId, long epoch, List<Integer> ports, long now,
                                            long expiresAt) {
    return change(nodeId, SessionsProcessor.Op.PORTS, new JsonObject().put("gatewayId", gatewayId).put("epoch", epoch)
        .put("ports", new JsonArray(ports)).put("now", now).put("expiresAt", expiresAt))
        .map(c -> changed(c, gatewayId, epoch, expiresAt));
  }

  /** The session as the change left it, when the change applied to it (a renewal sets its expiry). */
  private static Optional<Live> changed(Change c, String gatewayId, long epoch, long expiresAt) {
    Live after = SessionLists.find(c.after(), gatewayId, epoch);
    return after != null && after.expiresAt() == expiresAt ? Optional.of(after) : Optional.empty();
  }

  @Override
  public Future<Optional<Live>> remove(String nodeId, String gatewayId, long epoch) {
    return change(nodeId, SessionsProcessor.Op.REMOVE, new JsonObject().put("gatewayId", gatewayId).put("epoch", epoch))
        .map(c -> Optional.ofNullable(SessionLists.find(c.before(), gatewayId, epoch)));
  }

  @Override
  public Future<List<Live>> removeNode(String nodeId) {
    return change(nodeId, SessionsProcessor.Op.REMOVE_NODE, new JsonObject()).map(Change::before);
  }

  @Override
  public Future<List<Live>> removeGateways(Set<String> gatewayIds) {
    List<Future<List<Live>>> changes = new ArrayList<>();
    JsonObject args = new JsonObject().put("gatewayIds", new JsonArray(new ArrayList<>(gatewayIds)));
    for (Map.Entry<String, Versioned> e : view.entrySet()) {
      if (e.getValue().sessions().stream().anyMatch(l -> gatewayIds.contains(l.gatewayId()))) {
        changes.add(change(e.getKey(), SessionsProcessor.Op.REMOVE_GATEWAYS, args)
            .map(c -> SessionLists.gone(c.before(), c.after())));
      }
    }
    return gather(changes);
  }

  @Override
  public Future<List<Live>> sweep(long now) {
    List<Future<List<Live>>> changes = new ArrayList<>();
    for (Map.Entry<String, Versioned> e : view.entrySet()) {
      if (e.getValue().sessions().stream().anyMatch(l -> !l.liveAt(now))) {
        changes.add(change(e.getKey(), SessionsProcessor.Op.SWEEP, new JsonObject().put("now", now))
            .map(c -> SessionLists.gone(c.before(), c.after())));
      }
    }
    return gather(changes);
  }

  /** The sessions all {@code changes} took away; a change that failed is logged and left to the next sweep. */
  private static Future<List<Live>> gather(List<Future<List<Live>>> changes) {
    return Future.join(changes).transform(done -> {
      List<Live> out = new ArrayList<>();
      for (Future<List<Live>> f : changes) {
        if (f.succeeded()) {
          out.addAll(f.result());
        } else {
          LOG.log(System.Logger.Level.WARNING, "changing the cluster''s live sessions failed: {0}", f.cause().toString());
        }
      }
      return Future.succeededFuture(out);
    });
  }

  /** What one processor run saw and left. */
  private record Change(long version, List<Live> before, List<Live> after) {
  }

  private Future<Change> change(String nodeId, SessionsProcessor.Op op, JsonObject args) {
    return stage(map.submitToKey(nodeId, new SessionsProcessor(op, args))).map(result -> {
      JsonObject json = new JsonObject(result);
      Change change = new Change(json.getLong("v"), SessionLists.fromJson(json.getJsonArray("before")),
          SessionLists.fromJson(json.getJsonArray("after")));
      apply(nodeId, change.version(), change.after());
      return change;
    });
  }

  private <T> Future<T> stage(CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext()).timeout(timeoutMillis, TimeUnit.MILLISECONDS);
  }

  // ---------------------------------------------------------------- the local view

  /** Takes a stored entry into the view, unless the view already holds a newer version. */
  private void accept(String nodeId, String stored) {
    JsonObject json = new JsonObject(stored);
    apply(nodeId, json.getLong("v", 0L), SessionLists.fromJson(json.getJsonArray("sessions")));
  }

  private void apply(String nodeId, long version, List<Live> sessions) {
    view.compute(nodeId, (id, current) -> current != null && current.version() >= version
        ? current : new Versioned(version, sessions));
  }

  /** Entry events of the shared map (on Hazelcast's event threads): they only touch the view. */
  private final class Events implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String>,
      EntryRemovedListener<String, String>, EntryExpiredListener<String, String>,
      EntryEvictedListener<String, String>, MapClearedListener {

    @Override
    public void entryAdded(EntryEvent<String, String> event) {
      accept(event.getKey(), event.getValue());
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
      accept(event.getKey(), event.getValue());
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      view.remove(event.getKey());
    }

    @Override
    public void entryExpired(EntryEvent<String, String> event) {
      view.remove(event.getKey());
    }

    @Override
    public void entryEvicted(EntryEvent<String, String> event) {
      view.remove(event.getKey());
    }

    @Override
    public void mapCleared(MapEvent event) {
      view.clear();
    }
  }

  /** True when cluster member {@code memberId} ran a registry ({@link ClusterMaps#REGISTRIES}); forgets it. Blocking. */
  static boolean wasRegistry(HazelcastInstance hazelcast, String memberId) {
    return hazelcast.<String, String>getMap(ClusterMaps.REGISTRIES).remove(memberId) != null;
  }

  /** The gateways of cluster member {@code memberId}, from {@link ClusterMaps#GATEWAYS}; blocking. */
  static Set<String> gatewaysOf(HazelcastInstance hazelcast, String memberId) {
    IMap<String, String> gateways = hazelcast.getMap(ClusterMaps.GATEWAYS);
    Set<String> out = new HashSet<>();
    for (Map.Entry<String, String> e : gateways.entrySet()) {
      if (memberId.equals(e.getValue())) {
        out.add(e.getKey());
      }
    }
    out.forEach(gateways::delete);
    return out;
  }
}
