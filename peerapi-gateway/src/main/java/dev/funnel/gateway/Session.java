package dev.funnel.gateway;

import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.peerapi.ControlMessage;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * One node's control session on this gateway: who the registry says it is, its control channel,
 * its pool of data connections and its upkeep state. Used on the gateway's event loop only.
 */
final class Session {

  /** Named by the gateway, presented by the node's data connections. */
  final String sessionId;
  /** Random, compared in constant time, never logged. */
  private final String dataSecret;
  final String nodeId;
  final String fqdn;
  final long epoch;
  final long leaseMillis;
  final NetSocket control;
  final DataPool pool;

  /** What the registry currently routes to this node (changes with a ServeUpdate). */
  List<Integer> ports;
  long lastHeardNanos = System.nanoTime();
  long nextPingSeq;
  long heartbeatTimer = -1;
  long renewTimer = -1;
  boolean renewing;
  /** Session-loss reports of this node passed to the registry and not answered yet (bounded). */
  int lossReportsInFlight;
  /** A certificate request of this node is being signed (one at a time). */
  boolean signing;
  /** Data connections taken from the pool whose offer has not been answered yet. */
  int offering;
  /** OpenData requests not yet matched by an arriving data connection (reset each heartbeat). */
  int requestedData;
  boolean ended;

  Session(String sessionId, String dataSecret, NodeSession granted, NetSocket control, DataPool pool) {
    this.sessionId = sessionId;
    this.dataSecret = dataSecret;
    this.nodeId = granted.nodeId();
    this.fqdn = granted.fqdn();
    this.epoch = granted.epoch();
    this.leaseMillis = granted.leaseMillis();
    this.ports = granted.ports();
    this.control = control;
    this.pool = pool;
  }

  boolean acceptsSecret(String presented) {
    return presented != null && MessageDigest.isEqual(dataSecret.getBytes(StandardCharsets.UTF_8),
        presented.getBytes(StandardCharsets.UTF_8));
  }

  /** The node's Welcome; {@code gatewayId} and the epoch name the session, so the node can report it lost elsewhere. */
  ControlMessage.Welcome welcome(String gatewayId, long heartbeatMillis, int poolSize) {
    return new ControlMessage.Welcome(sessionId, nodeId, fqdn, dataSecret, heartbeatMillis, poolSize, ports, gatewayId,
        epoch);
  }

  void send(ControlMessage message) {
    control.write(message.encode());
  }

  /** Idle plus offering data connections: what counts against the per-node bound. */
  int dataConnections() {
    return pool.idleCount() + offering;
  }

  @Override
  public String toString() {
    return "Session[" + nodeId + " (" + fqdn + ") epoch " + epoch + "]";
  }
}
