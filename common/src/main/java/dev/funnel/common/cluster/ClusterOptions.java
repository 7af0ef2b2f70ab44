package dev.funnel.common.cluster;

import dev.funnel.common.net.HostPort;
import java.util.ArrayList;
import java.util.List;

/**
 * How a Funnel process joins its cluster: Hazelcast TCP/IP discovery only (never multicast), on
 * one interface, with the members named explicitly. Every wait is bounded, with a named default.
 */
public class ClusterOptions {

  public static final String DEFAULT_CLUSTER_NAME = "funnel";
  public static final int DEFAULT_CLUSTER_PORT = 5701;
  /** A member that stops answering heartbeats is removed after this (Hazelcast's default is 60 s). */
  public static final int DEFAULT_MAX_NO_HEARTBEAT_SECONDS = 10;
  public static final int DEFAULT_HEARTBEAT_SECONDS = 1;
  /** How long a new member tries to reach the named members before it forms a cluster alone. */
  public static final int DEFAULT_JOIN_TIMEOUT_SECONDS = 5;
  /** Two clusters formed apart (members started at once, a partition) are merged after this. */
  public static final int DEFAULT_MERGE_DELAY_SECONDS = 10;
  /**
   * Hazelcast partitions (every member must agree). Funnel's maps are small (one entry per node),
   * so far fewer than Hazelcast's 271 make joins and migrations quicker.
   */
  public static final int DEFAULT_PARTITION_COUNT = 31;
  /** A Hazelcast operation (a map read or write) fails after this instead of Hazelcast's 120 s. */
  public static final long DEFAULT_OPERATION_TIMEOUT_MILLIS = 10_000;

  /**
   * Before the event bus opens a connection to another member, that member's event-bus port must
   * accept a TCP connection within this, or requests to it fail at once instead of waiting out
   * their own timeouts (see {@link LocalLookupClusterManager}).
   */
  public static final long DEFAULT_BUS_PROBE_TIMEOUT_MILLIS = 2_000;

  private String clusterName = DEFAULT_CLUSTER_NAME;
  private String host = "127.0.0.1";
  private int port = DEFAULT_CLUSTER_PORT;
  private List<HostPort> members = new ArrayList<>();
  /** The event bus's own TCP port on {@link #getHost()}; 0 picks a free one. */
  private int busPort;
  private int maxNoHeartbeatSeconds = DEFAULT_MAX_NO_HEARTBEAT_SECONDS;
  private int heartbeatSeconds = DEFAULT_HEARTBEAT_SECONDS;
  private int joinTimeoutSeconds = DEFAULT_JOIN_TIMEOUT_SECONDS;
  private int mergeDelaySeconds = DEFAULT_MERGE_DELAY_SECONDS;
  private int partitionCount = DEFAULT_PARTITION_COUNT;
  private long operationTimeoutMillis = DEFAULT_OPERATION_TIMEOUT_MILLIS;
  private long busProbeTimeoutMillis = DEFAULT_BUS_PROBE_TIMEOUT_MILLIS;

  public String getClusterName() { return clusterName; }
  public ClusterOptions setClusterName(String clusterName) { this.clusterName = clusterName; return this; }
  /** The address this member binds and advertises, for Hazelcast and the event bus (an IP address). */
  public String getHost() { return host; }
  public ClusterOptions setHost(String host) { this.host = host; return this; }
  /** Hazelcast's member port (fixed: the other members name it). */
  public int getPort() { return port; }
  public ClusterOptions setPort(int port) { this.port = port; return this; }
  /** Members to join, {@code HOST:PORT} each (no port ranges); this member may be among them. */
  public List<HostPort> getMembers() { return members; }
  public ClusterOptions setMembers(List<HostPort> members) { this.members = new ArrayList<>(members); return this; }
  public int getBusPort() { return busPort; }
  public ClusterOptions setBusPort(int busPort) { this.busPort = busPort; return this; }
  public int getMaxNoHeartbeatSeconds() { return maxNoHeartbeatSeconds; }
  public ClusterOptions setMaxNoHeartbeatSeconds(int seconds) { this.maxNoHeartbeatSeconds = seconds; return this; }
  public int getHeartbeatSeconds() { return heartbeatSeconds; }
  public ClusterOptions setHeartbeatSeconds(int seconds) { this.heartbeatSeconds = seconds; return this; }
  public int getJoinTimeoutSeconds() { return joinTimeoutSeconds; }
  public ClusterOptions setJoinTimeoutSeconds(int seconds) { this.joinTimeoutSeconds = seconds; return this; }
  public int getMergeDelaySeconds() { return mergeDelaySeconds; }
  public ClusterOptions setMergeDelaySeconds(int seconds) { this.mergeDelaySeconds = seconds; return this; }
  public int getPartitionCount() { return partitionCount; }
  public ClusterOptions setPartitionCount(int partitionCount) { this.partitionCount = partitionCount; return this; }
  public long getOperationTimeoutMillis() { return operationTimeoutMillis; }
  public ClusterOptions setOperationTimeoutMillis(long millis) { this.operationTimeoutMillis = millis; return this; }
  public long getBusProbeTimeoutMillis() { return busProbeTimeoutMillis; }
  public ClusterOptions setBusProbeTimeoutMillis(long millis) { this.busProbeTimeoutMillis = millis; return this; }
}
