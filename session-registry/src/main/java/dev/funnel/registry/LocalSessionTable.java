package dev.funnel.registry;

import dev.funnel.registry.LiveSessions.Live;
import io.vertx.core.Future;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** The session table of a registry alone in its JVM: {@link LiveSessions} in memory; every write completes at once. */
final class LocalSessionTable implements SessionTable {

  private final LiveSessions sessions = new LiveSessions();

  @Override
  public Future<List<Live>> put(Live session) {
    return Future.succeededFuture(sessions.put(session));
  }

  @Override
  public List<Live> live(String nodeId, long now) {
    return sessions.live(nodeId, now);
  }

  @Override
  public Future<List<Live>> fetch(String nodeId, long now) {
    return Future.succeededFuture(sessions.live(nodeId, now));
  }

  @Override
  public Future<Optional<Live>> renew(String nodeId, String gatewayId, long epoch, long now, long expiresAt) {
    return Future.succeededFuture(sessions.renew(nodeId, gatewayId, epoch, now, expiresAt));
  }

  @Override
  public Future<Optional<Live>> updatePorts(String nodeId, String gatewayId, long epoch, List<Integer> ports, long now,
                                            long expiresAt) {
    return Future.succeededFuture(sessions.updatePorts(nodeId, gatewayId, epoch, ports, now, expiresAt));
  }

  @Override
  public Future<Optional<Live>> remove(String nodeId, String gatewayId, long epoch) {
    return Future.succeededFuture(sessions.remove(nodeId, gatewayId, epoch));
  }

  @Override
  public Future<List<Live>> removeNode(String nodeId) {
    return Future.succeededFuture(sessions.removeNode(nodeId));
  }

  @Override
  public Future<List<Live>> removeGateways(Set<String> gatewayIds) {
    // A gateway in this JVM leaves only with the JVM (and this table): its sessions end with it.
    return Future.succeededFuture(List.of());
  }

  @Override
  public void markWithdrawn(String nodeId, String gatewayId, long epoch) {
    // Every write here is immediate: withdrawn is simply gone.
    sessions.remove(nodeId, gatewayId, epoch);
  }

  @Override
  public Future<List<Live>> sweep(long now) {
    return Future.succeededFuture(sessions.sweep(now));
  }

  @Override
  public int size() {
    return sessions.size();
  }
}
