package dev.funnel.gateway;

import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortRefusals;
import dev.funnel.common.bus.TailnetPolicy;
import dev.funnel.common.peerapi.ControlMessage;
import java.util.List;

/**
 * One node's control session on this gateway: who the registry says it is, its control channel,
 * its link connections (as the data plane sees them, {@link NodeLinks}) and its upkeep state. Used on the gateway's event loop only.
 */
final class Session {

  /** Named by the gateway, presented by the node's link connections. */
  final String sessionId;
  /** Random, compared in constant time, never logged. */
  private final String dataSecret;
  final String nodeId;
  final String fqdn;
  /** The node's tailnet (whose policy changes this session hears of). */
  final String tailnet;
  final long epoch;
  final long leaseMillis;
  final ControlChannel control;
  final NodeLinks links;

  /** What the registry currently routes to this node (changes with a ServeUpdate). */
  List<Integer> ports;
  /** Ports the node announced that the public side will not route, with why (changes with a ServeUpdate or the tailnet's policy). */
  java.util.Map<Integer, String> refused;
  /** Ports updates sent to the registry and not answered yet. */
  int portsUpdating;
  /** A policy change heard while a ports update was out: applied to its answer ({@link #applyPolicy}). */
  TailnetPolicy pendingPolicy;
  long lastHeardNanos = System.nanoTime();
  long nextPingSeq;
  long heartbeatTimer = -1;
  long renewTimer = -1;
  boolean renewing;
  /** Session-loss reports of this node passed to the registry and not answered yet (bounded). */
  int lossReportsInFlight;
  /** AcmeTxt requests waiting on the registry. */
  int acmeTxtInFlight;
  /** A certificate request of this node is being signed (one at a time). */
  boolean signing;
  /** Serve updates in the current window ({@link SessionControl#MAX_SERVE_UPDATES} per window at most). */
  int serveUpdates;
  long serveUpdateWindowStart = System.nanoTime();
  boolean ended;
  /** The node's Hello carried {@code aliases}: it understands {@link ControlMessage.Aliases}. */
  boolean aliasAware;
  /** The node's verified custom domains as the registry last said: the server's CA signs them too. */
  java.util.Set<String> verifiedAliases = java.util.Set.of();
  /** A probe of this node is running ({@link ProbeRelay}: one at a time, a few per window). */
  boolean probing;
  /** The last certificate expiry this node reported (epoch seconds; 0: none), and how many it reported. */
  long certNotAfter;
  int certReports;
  int probes;
  long probeWindowStart = System.nanoTime();

  Session(String sessionId, String dataSecret, NodeSession granted, ControlChannel control) {
    this.sessionId = sessionId;
    this.dataSecret = dataSecret;
    this.nodeId = granted.nodeId();
    this.fqdn = granted.fqdn();
    this.tailnet = granted.tailnet();
    this.epoch = granted.epoch();
    this.leaseMillis = granted.leaseMillis();
    this.ports = granted.ports();
    this.refused = granted.refused();
    this.control = control;
    this.links = new NodeLinks(sessionId, granted.nodeId(), granted.epoch(), dataSecret);
  }

  /** The node's Welcome; {@code gatewayId} and the epoch name the session, so the node can report it lost elsewhere. */
  ControlMessage.Welcome welcome(String gatewayId, long heartbeatMillis, int links) {
    return new ControlMessage.Welcome(sessionId, nodeId, fqdn, dataSecret, heartbeatMillis, links, ports, gatewayId,
        epoch, refused, List.of(ControlMessage.FEATURE_ACME_TXT, ControlMessage.FEATURE_CERTIFICATE_EXPIRY));
  }

  /**
   * Decides this node's refusals again under its tailnet's new policy ({@link PortRefusals#withPolicy});
   * true when they changed (the node is then to hear a new Welcome).
   */
  boolean applyPolicy(TailnetPolicy policy) {
    java.util.Map<Integer, String> next = PortRefusals.withPolicy(refused, ports, tailnet, policy.funnel(),
        policy.ports());
    if (next.equals(refused)) {
      return false;
    }
    refused = next;
    return true;
  }

  void send(ControlMessage message) {
    control.write(message.encode());
  }

  @Override
  public String toString() {
    return "Session[" + nodeId + " (" + fqdn + ") epoch " + epoch + "]";
  }
}
