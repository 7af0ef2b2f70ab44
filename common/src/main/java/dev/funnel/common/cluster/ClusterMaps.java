package dev.funnel.common.cluster;

/**
 * The Hazelcast maps Funnel keeps in the cluster. Each has one synchronous backup, so losing any
 * one member loses none of them. They hold live state only (rebuilt by nodes reconnecting); durable
 * state is in the registry's store.
 */
public final class ClusterMaps {

  private ClusterMaps() {
  }

  /** Node id → its live sessions (JSON), written by registries only. */
  public static final String LIVE_SESSIONS = "funnel.live-sessions";

  /**
   * Gateway id → the cluster member (node id) running it, written by each gateway when it starts.
   * When a member leaves, registries withdraw the sessions of its gateways at once.
   */
  public static final String GATEWAYS = "funnel.gateways";

  /**
   * Cluster member (node id) → the store kind of the registry it runs ({@code embedded} or
   * {@code postgresql}): a registry with the embedded store refuses to start beside another one.
   */
  public static final String REGISTRIES = "funnel.registries";

  /** Backups of every Funnel map (synchronous: a write returns once the backup has it). */
  public static final int BACKUP_COUNT = 1;
}
