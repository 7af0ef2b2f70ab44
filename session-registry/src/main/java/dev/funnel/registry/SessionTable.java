package dev.funnel.registry;

import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.Future;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which gateway holds each node's session: in this JVM ({@link LocalSessionTable}, for
 * {@code funnel server}) or in a Hazelcast map shared by every registry of a cluster
 * ({@link ClusterSessionTable}). Reads come from a local view and never wait; writes complete once
 * the table (and, clustered, its backup) has them. Time is passed in. Lookups that can find nothing
 * return an empty list or {@link Optional#empty()}.
 */
interface SessionTable {

  /** Records {@code session} (see {@link LiveSessions#put}); completes with the sessions it displaced. */
  Future<List<Live>> put(Live session);

  /** The node's sessions live at {@code now}, newest first, from the local view. */
  List<Live> live(String nodeId, long now);

  /**
   * As {@link #live}, but clustered it reads the shared map first (and refreshes the local view),
   * so a session another registry recorded a moment ago is seen.
   */
  Future<List<Live>> fetch(String nodeId, long now);

  /** Extends a live session's lease; empty when there is no such live session. */
  Future<Optional<Live>> renew(String nodeId, String gatewayId, long epoch, long now, long expiresAt);

  /** Sets a live session's ports and extends its lease; empty when there is no such live session. */
  Future<Optional<Live>> updatePorts(String nodeId, String gatewayId, long epoch, List<Integer> ports, long now,
                                     long expiresAt);

  /** Removes the session (nodeId, gatewayId, epoch); empty when there was none. */
  Future<Optional<Live>> remove(String nodeId, String gatewayId, long epoch);

  /** Removes every session of the node; completes with them. */
  Future<List<Live>> removeNode(String nodeId);

  /** Removes every session held by one of {@code gatewayIds} (their process left); completes with them. */
  Future<List<Live>> removeGateways(Set<String> gatewayIds);

  /**
   * Stops counting the session (nodeId, gatewayId, epoch) as live in this registry at once, before
   * the shared table is changed and whether or not it can be right now (clustered: its partition
   * may wait on a member that just died), and keeps it out for a while, so a late event does not
   * bring it back. Epochs are never reused, so no other session is hidden. A later {@link #put} of
   * that node drops it before any live session.
   */
  void markWithdrawn(String nodeId, String gatewayId, long epoch);

  /** Removes every session whose lease lapsed by {@code now}; completes with them. */
  Future<List<Live>> sweep(long now);

  /** Sessions in the local view (live or not yet swept). */
  int size();

  /** Stops following the shared table (clustered); the table itself stays for the other registries. */
  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
