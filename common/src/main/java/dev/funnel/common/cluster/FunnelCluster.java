package dev.funnel.common.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.Messages;
import dev.funnel.common.net.HostPort;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A Funnel process that is a member of the cluster: its clustered {@link Vertx} (event bus across
 * members, codecs registered once) and the Hazelcast instance under it, for the clustered maps and
 * membership events the registry needs.
 *
 * <p>The Hazelcast configuration is built in code from {@link ClusterOptions}: Vert.x's own maps
 * (from vertx-hazelcast's {@code default-cluster.xml}), TCP/IP join with exactly the named members,
 * multicast and auto-detection off, one interface, one port (no auto-increment), no wildcard bind.
 */
public final class FunnelCluster {

  private static final System.Logger LOG = System.getLogger(FunnelCluster.class.getName());
  /** The member attribute under which vertx-hazelcast 5.0 keeps a member's Vert.x node id. */
  private static final String VERTX_NODE_ID_ATTRIBUTE = "__vertx.nodeId";

  private final Vertx vertx;
  private final HazelcastClusterManager hazelcastManager;
  private final LocalLookupClusterManager manager;
  private final List<Consumer<String>> leftListeners = new CopyOnWriteArrayList<>();

  private FunnelCluster(Vertx vertx, HazelcastClusterManager hazelcastManager, LocalLookupClusterManager manager) {
    this.vertx = vertx;
    this.hazelcastManager = hazelcastManager;
    this.manager = manager;
  }

  /**
   * Joins (or forms) the cluster; completes once this member has joined and the event bus is up.
   * Codecs are registered on the instance before it is returned.
   */
  public static Future<FunnelCluster> join(VertxOptions vertxOptions, ClusterOptions options) {
    String host;
    try {
      host = InetAddress.getByName(options.getHost()).getHostAddress();
    } catch (UnknownHostException e) {
      return Future.failedFuture(new IllegalArgumentException("--cluster-host " + options.getHost()
          + " does not resolve to an address"));
    }
    HazelcastClusterManager hazelcastManager = new HazelcastClusterManager(hazelcastConfig(options, host));
    LocalLookupClusterManager manager = new LocalLookupClusterManager(hazelcastManager,
        options.getBusProbeTimeoutMillis());
    vertxOptions.getEventBusOptions().setHost(host).setPort(options.getBusPort()).setClusterPublicHost(host);
    long started = System.nanoTime();
    return Vertx.builder().with(vertxOptions).withClusterManager(manager).buildClustered().map(vertx -> {
      Messages.registerCodecs(vertx.eventBus());
      FunnelCluster cluster = new FunnelCluster(vertx, hazelcastManager, manager);
      hazelcastManager.getHazelcastInstance().getCluster().addMembershipListener(cluster.new Listener());
      cluster.prefetchLookups();
      LOG.log(System.Logger.Level.INFO, "joined cluster {0} as {1} ({2}:{3,number,#}) in {4} ms; {5} members",
          options.getClusterName(), manager.getNodeId(), host, options.getPort(),
          (System.nanoTime() - started) / 1_000_000, manager.getNodes().size());
      return cluster;
    });
  }

  /** The Hazelcast configuration for {@code options}, bound to {@code host} (an IP address). */
  public static Config hazelcastConfig(ClusterOptions options, String host) {
    Config config = ConfigUtil.loadConfig();
    config.setClusterName(options.getClusterName());
    config.setProperty("hazelcast.logging.type", "jdk");
    config.setProperty("hazelcast.socket.bind.any", "false");
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    config.setProperty("hazelcast.heartbeat.interval.seconds", Integer.toString(options.getHeartbeatSeconds()));
    config.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(options.getMaxNoHeartbeatSeconds()));
    config.setProperty("hazelcast.merge.first.run.delay.seconds", Integer.toString(options.getMergeDelaySeconds()));
    config.setProperty("hazelcast.merge.next.run.delay.seconds", Integer.toString(options.getMergeDelaySeconds()));
    config.setProperty("hazelcast.partition.count", Integer.toString(options.getPartitionCount()));
    config.setProperty("hazelcast.health.monitoring.level", "OFF");
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.max.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.operation.call.timeout.millis", Long.toString(options.getOperationTimeoutMillis()));
    // Hazelcast's own metrics (for its Management Center and JMX, neither of which Funnel uses; the
    // services' meters are Micrometer's): collected every 5 s in every member, idle or not.
    config.getMetricsConfig().setEnabled(false);
    config.addMapConfig(new MapConfig("funnel.*").setBackupCount(ClusterMaps.BACKUP_COUNT).setAsyncBackupCount(0));
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(options.getPort()).setPortAutoIncrement(false).setPortCount(1);
    // A member restarted on its port binds while the old process's connections are in TIME_WAIT
    // (Hazelcast's default would refuse for a minute or two: "Port … is already in use"; the
    // launcher's own check of the address already allows it).
    network.setReuseAddress(true);
    network.getInterfaces().setEnabled(true).setInterfaces(List.of(host));
    network.setPublicAddress(new HostPort(host, options.getPort()).toString());
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig()
        .setEnabled(true)
        .setConnectionTimeoutSeconds(options.getJoinTimeoutSeconds())
        .setMembers(options.getMembers().stream().map(HostPort::toString).collect(Collectors.toList()));
    return config;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** This member's id (the Vert.x node id). */
  public String nodeId() {
    return manager.getNodeId();
  }

  /** The ids of the members right now, this one included. */
  public Set<String> members() {
    return Set.copyOf(manager.getNodes());
  }

  public HazelcastInstance hazelcast() {
    return hazelcastManager.getHazelcastInstance();
  }

  /**
   * Looks up, off the event loop, what the event bus will need after a member fails: every other
   * member's node info, the handlers of Funnel's fixed addresses and of every gateway's open
   * address (also of gateways that start later, from {@link ClusterMaps#GATEWAYS}). A lookup made
   * only once a member has died may wait until the cluster has removed it (see
   * {@link LocalLookupClusterManager}).
   */
  private void prefetchLookups() {
    manager.prefetchMembers();
    manager.prefetch(Addresses.fixed());
    vertx.executeBlocking(() -> {
      IMap<String, String> gateways = hazelcast().getMap(ClusterMaps.GATEWAYS);
      gateways.addEntryListener((EntryAddedListener<String, String>) event ->
          manager.prefetch(List.of(Addresses.gatewayLink(event.getKey()))), false);
      manager.prefetch(gateways.keySet().stream().map(Addresses::gatewayLink).toList());
      return null;
    }, false).onFailure(err -> LOG.log(System.Logger.Level.WARNING, "looking up the gateways' addresses failed: "
        + err + "; the first open on each waits for the lookup"));
  }

  /** Records that {@code gatewayId} runs on this member ({@link ClusterMaps#GATEWAYS}). */
  public Future<Void> registerGateway(String gatewayId) {
    return Future.fromCompletionStage(hazelcast().<String, String>getMap(ClusterMaps.GATEWAYS)
        .setAsync(gatewayId, nodeId()), vertx.getOrCreateContext());
  }

  /**
   * Calls {@code listener} with a member's id when it leaves the cluster (shut down, killed, or cut
   * off), on a Hazelcast event thread: hand the work to Vert.x before blocking or touching state.
   */
  public void onMemberLeft(Consumer<String> listener) {
    leftListeners.add(listener);
  }

  /** The Vert.x node id of a member: vertx-hazelcast keeps it as a member attribute, apart from the member's UUID. */
  private static String vertxNodeId(Member member) {
    String id = member.getAttribute(VERTX_NODE_ID_ATTRIBUTE);
    return id != null ? id : member.getUuid().toString();
  }

  private final class Listener implements MembershipListener {
    @Override
    public void memberAdded(MembershipEvent event) {
      manager.memberAdded(vertxNodeId(event.getMember()));
      LOG.log(System.Logger.Level.INFO, "cluster member {0} joined ({1}); {2} members", vertxNodeId(event.getMember()),
          event.getMember().getAddress(), event.getMembers().size());
    }

    @Override
    public void memberRemoved(MembershipEvent event) {
      String id = vertxNodeId(event.getMember());
      manager.memberLeft(id);
      LOG.log(System.Logger.Level.WARNING, "cluster member {0} left ({1}); {2} members", id,
          event.getMember().getAddress(), event.getMembers().size());
      for (Consumer<String> listener : leftListeners) {
        try {
          listener.accept(id);
        } catch (RuntimeException e) {
          LOG.log(System.Logger.Level.ERROR, "member-left listener failed", e);
        }
      }
    }
  }
}
