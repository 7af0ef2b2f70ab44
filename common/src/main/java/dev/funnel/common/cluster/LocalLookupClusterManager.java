package dev.funnel.common.cluster;

import io.vertx.core.Completable;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.core.shareddata.Counter;
import io.vertx.core.shareddata.Lock;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.spi.cluster.NodeInfo;
import io.vertx.core.spi.cluster.NodeListener;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.core.spi.cluster.RegistrationListener;
import io.vertx.core.spi.cluster.RegistrationUpdateEvent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The cluster manager the event bus talks to: Vert.x's Hazelcast one, with the two lookups the
 * event bus makes on its send path answered from copies kept in this process, and a member whose
 * event-bus port does not accept connections failed at once.
 *
 * <p>Why (measured with {@code kill -9} of one member of a running cluster; see the launcher and
 * test READMEs): before it opens a connection to another member the event bus asks
 * {@link #getNodeInfo(String, Completable)}, and before its first message to an address it asks
 * {@link #getRegistrations(String, Completable)}. vertx-hazelcast answers both by reading a
 * Hazelcast map; when the partition holding the key belonged to the member that just died, the read
 * waits until Hazelcast has removed that member (under a second on an idle machine, 8 to 16 seconds
 * on a loaded one). A gateway's first reply to a frontend, a frontend's first open on a gateway
 * that just took over, waited that long. And a request sent to a member that is gone waits out its
 * whole timeout: the event bus sees the refused connection only as a failed write, and it fails a
 * waiting request early only when that failure is a {@link ReplyException}.
 *
 * <p>So this class keeps the node info of every member (fetched when it joins, and on first use) and
 * the handlers of every address once looked up ({@link #prefetch}, or on first use), kept current by
 * the update events of the addresses under {@link #FOLLOWED_PREFIX}. And before it hands out a
 * member's node info for a new event-bus connection, it opens one TCP connection to that member's
 * event-bus port, bounded by the probe timeout: a port that refuses (a killed process) or does not
 * answer (a host gone) fails the lookup with a {@link ReplyException} of type
 * {@link ReplyFailure#ERROR}, which the event bus passes to every request waiting on that
 * connection at once. A member that is merely busy still accepts TCP connections (the kernel
 * answers), so it is never failed this way. The probe costs one extra connection per new event-bus
 * connection, and those are long-lived.
 *
 * <p>A member that failed the probe, or left the cluster, is also taken out of every handler list
 * this class hands the event bus (and the event bus is told at once), until a later probe, retried
 * every probe timeout while it is still a member, gets through. Without this a request to an
 * address served by several members (the registries' resolve) could keep choosing the dead one:
 * the event bus builds a fresh round-robin selector, starting at the same member, on every update
 * of the address's handlers, and a member's death brings several such updates.
 *
 * <p>Thread-safe: Vert.x and Hazelcast call in from any thread.
 */
public final class LocalLookupClusterManager implements ClusterManager {

  private static final System.Logger LOG = System.getLogger(LocalLookupClusterManager.class.getName());

  /** Addresses whose handler lists are followed (and cached) whether or not this process sent there yet. */
  public static final String FOLLOWED_PREFIX = "funnel.";
  /** How often a new member's node info is asked for before giving up (it appears once its event bus is up). */
  static final int NODE_INFO_ATTEMPTS = 20;
  static final long NODE_INFO_RETRY_MILLIS = 500;

  /** How many departed members are remembered (their ids are never reused; this only bounds the set). */
  static final int DEPARTED_REMEMBERED = 256;

  private final ClusterManager delegate;
  private final long probeTimeoutMillis;
  private final Map<String, NodeInfo> nodeInfos = new ConcurrentHashMap<>();
  /** Handler lists as the cluster has them, before the unreachable and departed members are taken out. */
  private final Map<String, List<RegistrationInfo>> registrations = new ConcurrentHashMap<>();
  /** Members whose event-bus port did not accept the last probe, with when (nanoTime). */
  private final Map<String, Long> unreachableSince = new ConcurrentHashMap<>();
  private final Set<String> departed = Collections.synchronizedSet(Collections.newSetFromMap(
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
          return size() > DEPARTED_REMEMBERED;
        }
      }));
  /** Held while a handler list is filtered and handed to the event bus, so an older list never lands last. */
  private final Object publishing = new Object();
  private volatile RegistrationListener eventBusListener;
  private volatile Vertx vertx;
  private volatile NetClient probes;

  public LocalLookupClusterManager(ClusterManager delegate, long probeTimeoutMillis) {
    this.delegate = delegate;
    this.probeTimeoutMillis = probeTimeoutMillis;
  }

  // ---------------------------------------------------------------- what this class adds

  /**
   * Looks up, now, who listens on each address, so a first message there later costs no cluster
   * read. Failures are only logged: the event bus asks again on first use.
   */
  public void prefetch(Collection<String> addresses) {
    for (String address : addresses) {
      if (!registrations.containsKey(address)) {
        delegate.getRegistrations(address, (list, err) -> {
          if (err == null) {
            registrations.putIfAbsent(address, List.copyOf(list));
          } else {
            LOG.log(System.Logger.Level.DEBUG, "looking up the handlers of {0} failed: {1}", address, err.toString());
          }
        });
      }
    }
  }

  /** Fetches the node info of every member but this one. Call once joined. */
  public void prefetchMembers() {
    for (String nodeId : delegate.getNodes()) {
      if (!nodeId.equals(delegate.getNodeId())) {
        fetchNodeInfo(nodeId, NODE_INFO_ATTEMPTS);
      }
    }
  }

  /** A member joined: fetch its node info now (retried while its event bus is still starting). */
  public void memberAdded(String nodeId) {
    fetchNodeInfo(nodeId, NODE_INFO_ATTEMPTS);
    // A member back after a split cluster merged keeps its id: it is no longer departed.
    if (departed.remove(nodeId)) {
      republishHandlersOf(nodeId);
    }
  }

  /** A member left: forget what was kept about it, and take its handlers out of every list. */
  public void memberLeft(String nodeId) {
    nodeInfos.remove(nodeId);
    boolean first = departed.add(nodeId);
    unreachableSince.remove(nodeId);
    if (first) {
      republishHandlersOf(nodeId);
    }
  }

  /** {@code list} without the handlers of members known to be unreachable or gone. */
  private List<RegistrationInfo> reachableOnly(List<RegistrationInfo> list) {
    if (unreachableSince.isEmpty() && departed.isEmpty()) {
      return list;
    }
    List<RegistrationInfo> kept = new ArrayList<>(list.size());
    for (RegistrationInfo registration : list) {
      if (!excluded(registration.nodeId())) {
        kept.add(registration);
      }
    }
    return kept.size() == list.size() ? list : List.copyOf(kept);
  }

  private boolean excluded(String nodeId) {
    return unreachableSince.containsKey(nodeId) || departed.contains(nodeId);
  }

  /** Hands the event bus, again, every kept handler list naming {@code nodeId}, filtered as of now. */
  private void republishHandlersOf(String nodeId) {
    RegistrationListener listener = eventBusListener;
    if (listener == null) {
      return;
    }
    synchronized (publishing) {
      registrations.forEach((address, list) -> {
        if (list.stream().anyMatch(registration -> registration.nodeId().equals(nodeId))) {
          listener.registrationsUpdated(new RegistrationUpdateEvent(address, reachableOnly(list)));
        }
      });
    }
  }

  private void markUnreachable(String nodeId) {
    boolean first = unreachableSince.put(nodeId, System.nanoTime()) == null;
    if (first) {
      republishHandlersOf(nodeId);
      vertx.setTimer(Math.max(1, probeTimeoutMillis), id -> probeAgain(nodeId));
    }
  }

  /**
   * An unreachable member that is still in the cluster is probed again every probe timeout, so a
   * member that was only slow to answer gets its handlers back.
   */
  private void probeAgain(String nodeId) {
    NodeInfo info = nodeInfos.get(nodeId);
    if (!unreachableSince.containsKey(nodeId) || departed.contains(nodeId) || !delegate.getNodes().contains(nodeId)
        || info == null) {
      return;
    }
    probeClient().connect(info.port(), info.host()).onComplete(ar -> {
      if (ar.succeeded()) {
        ar.result().close();
        if (unreachableSince.remove(nodeId) != null) {
          LOG.log(System.Logger.Level.INFO, "cluster member {0}: its event bus accepts connections again", nodeId);
          republishHandlersOf(nodeId);
        }
      } else if (unreachableSince.containsKey(nodeId)) {
        unreachableSince.put(nodeId, System.nanoTime());
        vertx.setTimer(Math.max(1, probeTimeoutMillis), id -> probeAgain(nodeId));
      }
    });
  }

  /** The manager this one wraps (for the Hazelcast instance under it). */
  public ClusterManager delegate() {
    return delegate;
  }

  private void fetchNodeInfo(String nodeId, int attemptsLeft) {
    if (nodeInfos.containsKey(nodeId)) {
      return;
    }
    delegate.getNodeInfo(nodeId, (info, err) -> {
      if (err == null && info != null) {
        nodeInfos.putIfAbsent(nodeId, info);
      } else if (attemptsLeft > 1 && vertx != null && delegate.getNodes().contains(nodeId)) {
        vertx.setTimer(NODE_INFO_RETRY_MILLIS, id -> fetchNodeInfo(nodeId, attemptsLeft - 1));
      }
    });
  }

  private Future<NodeInfo> knownNodeInfo(String nodeId) {
    NodeInfo known = nodeInfos.get(nodeId);
    if (known != null) {
      return Future.succeededFuture(known);
    }
    Promise<NodeInfo> fetched = Promise.promise();
    delegate.getNodeInfo(nodeId, fetched);
    return fetched.future().onSuccess(info -> nodeInfos.putIfAbsent(nodeId, info));
  }

  /** {@code info}, once its event-bus port accepted a TCP connection; else a {@link ReplyException}. */
  private Future<NodeInfo> reachable(String nodeId, NodeInfo info) {
    Long since = unreachableSince.get(nodeId);
    if (since != null && System.nanoTime() - since < TimeUnit.MILLISECONDS.toNanos(probeTimeoutMillis)) {
      // Never fail synchronously: the event bus queues the message on the connection only after
      // this call returns, and a connection already failed by then would fail the message with a
      // plain "closed" error, which leaves the request waiting for its timeout.
      Promise<NodeInfo> later = Promise.promise();
      vertx.runOnContext(v -> later.fail(unreachable(nodeId, info, "refused a moment ago")));
      return later.future();
    }
    return probeClient().connect(info.port(), info.host()).transform(ar -> {
      if (ar.succeeded()) {
        ar.result().close();
        if (unreachableSince.remove(nodeId) != null) {
          republishHandlersOf(nodeId);
        }
        return Future.succeededFuture(info);
      }
      markUnreachable(nodeId);
      LOG.log(System.Logger.Level.INFO, "cluster member {0}: its event bus at {1}:{2,number,#} does not accept"
          + " connections ({3}); requests to it fail now", nodeId, info.host(), info.port(), ar.cause().toString());
      return Future.failedFuture(unreachable(nodeId, info, String.valueOf(ar.cause().getMessage())));
    });
  }

  private static ReplyException unreachable(String nodeId, NodeInfo info, String why) {
    return new ReplyException(ReplyFailure.ERROR, "cluster member " + nodeId + " is unreachable: its event bus at "
        + info.host() + ":" + info.port() + " " + why);
  }

  private NetClient probeClient() {
    NetClient client = probes;
    if (client == null) {
      synchronized (this) {
        client = probes;
        if (client == null) {
          client = vertx.createNetClient(new NetClientOptions()
              .setConnectTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, probeTimeoutMillis)))
              .setReconnectAttempts(0));
          probes = client;
        }
      }
    }
    return client;
  }

  // ---------------------------------------------------------------- the event bus's lookups

  @Override
  public void getNodeInfo(String nodeId, Completable<NodeInfo> promise) {
    knownNodeInfo(nodeId).compose(info -> reachable(nodeId, info)).onComplete(promise);
  }

  @Override
  public void getRegistrations(String address, Completable<List<RegistrationInfo>> promise) {
    List<RegistrationInfo> known = registrations.get(address);
    if (known != null) {
      promise.succeed(reachableOnly(known));
      return;
    }
    delegate.getRegistrations(address, (list, err) -> {
      if (err != null) {
        promise.fail(err);
        return;
      }
      List<RegistrationInfo> copy = List.copyOf(list);
      List<RegistrationInfo> current = registrations.putIfAbsent(address, copy);
      promise.succeed(reachableOnly(current != null ? current : copy));
    });
  }

  @Override
  public void registrationListener(RegistrationListener listener) {
    eventBusListener = listener;
    delegate.registrationListener(new RegistrationListener() {
      @Override
      public void registrationsUpdated(RegistrationUpdateEvent event) {
        List<RegistrationInfo> list = List.copyOf(event.registrations());
        synchronized (publishing) {
          if (registrations.containsKey(event.address()) || event.address().startsWith(FOLLOWED_PREFIX)) {
            registrations.put(event.address(), list);
          }
          listener.registrationsUpdated(new RegistrationUpdateEvent(event.address(), reachableOnly(list)));
        }
      }

      /**
       * vertx-hazelcast says this when a member left (after removing the member's handlers). The
       * kept lists stay (filtered, they still route around the departed member) and are fetched
       * again; clearing them would leave nothing to re-filter when the member's departure is
       * handled next, and the event bus does not drop its own selectors on this call.
       */
      @Override
      public void registrationsLost() {
        listener.registrationsLost();
        for (String address : List.copyOf(registrations.keySet())) {
          delegate.getRegistrations(address, (list, err) -> {
            if (err != null) {
              return;
            }
            List<RegistrationInfo> copy = List.copyOf(list);
            synchronized (publishing) {
              registrations.put(address, copy);
              listener.registrationsUpdated(new RegistrationUpdateEvent(address, reachableOnly(copy)));
            }
          });
        }
      }

      @Override
      public boolean wantsUpdatesFor(String address) {
        return address.startsWith(FOLLOWED_PREFIX) || registrations.containsKey(address)
            || listener.wantsUpdatesFor(address);
      }
    });
  }

  @Override
  public void nodeListener(NodeListener listener) {
    delegate.nodeListener(new NodeListener() {
      @Override
      public void nodeAdded(String nodeId) {
        memberAdded(nodeId);
        listener.nodeAdded(nodeId);
      }

      @Override
      public void nodeLeft(String nodeId) {
        memberLeft(nodeId);
        listener.nodeLeft(nodeId);
      }
    });
  }

  // ---------------------------------------------------------------- delegated as they are

  @Override
  public void init(Vertx vertx) {
    this.vertx = vertx;
    delegate.init(vertx);
  }

  @Override
  public <K, V> void getAsyncMap(String name, Completable<AsyncMap<K, V>> promise) {
    delegate.getAsyncMap(name, promise);
  }

  @Override
  public <K, V> Map<K, V> getSyncMap(String name) {
    return delegate.getSyncMap(name);
  }

  @Override
  public void getLockWithTimeout(String name, long timeout, Completable<Lock> promise) {
    delegate.getLockWithTimeout(name, timeout, promise);
  }

  @Override
  public void getCounter(String name, Completable<Counter> promise) {
    delegate.getCounter(name, promise);
  }

  @Override
  public void setNodeInfo(NodeInfo nodeInfo, Completable<Void> promise) {
    delegate.setNodeInfo(nodeInfo, promise);
  }

  @Override
  public NodeInfo getNodeInfo() {
    return delegate.getNodeInfo();
  }

  @Override
  public void join(Completable<Void> promise) {
    delegate.join(promise);
  }

  @Override
  public void leave(Completable<Void> promise) {
    NetClient client = probes;
    if (client != null) {
      client.close();
    }
    delegate.leave(promise);
  }

  @Override
  public boolean isActive() {
    return delegate.isActive();
  }

  @Override
  public void addRegistration(String address, RegistrationInfo registrationInfo, Completable<Void> promise) {
    delegate.addRegistration(address, registrationInfo, promise);
  }

  @Override
  public void removeRegistration(String address, RegistrationInfo registrationInfo, Completable<Void> promise) {
    delegate.removeRegistration(address, registrationInfo, promise);
  }

  @Override
  public String getNodeId() {
    return delegate.getNodeId();
  }

  @Override
  public List<String> getNodes() {
    return delegate.getNodes();
  }

  @Override
  public String clusterHost() {
    return delegate.clusterHost();
  }

  @Override
  public String clusterPublicHost() {
    return delegate.clusterPublicHost();
  }
}
