package dev.funnel.gateway;

import dev.funnel.common.bus.AliasInfo;
import dev.funnel.common.bus.AliasStatus;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.bus.TailnetPolicy;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.FrameReader;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The sessions this gateway holds, one per node: admitted once the registry granted a login (an
 * older session of the same node is replaced), their timers and control connection handed to
 * {@link SessionControl}, ended once (the registry hears SessionClosed; tunnels already running
 * are left to finish), told of their aliases, kicked when the registry says so. Runs on the gateway
 * verticle's event loop (no locks); what the data plane needs of a session is in the
 * {@link LinkDirectory}, safe to share. Logs under the verticle's name, as before the split.
 */
final class GatewaySessions implements SessionControl.Sessions {

  private static final System.Logger LOG = System.getLogger(GatewayVerticle.class.getName());

  /** Renewals never run more often than this, whatever lease the registry grants. */
  private static final long MIN_RENEW_INTERVAL_MILLIS = 50;

  private final Vertx vertx;
  private final GatewayOptions options;
  private final RegistryRequests registry;
  private final LinkDirectory directory;
  private final GatewayMetrics metrics;
  private final GatewayRefusals refusals;
  private final CertificateReports certificates;
  private final SessionControl control;
  private final Map<String, Session> byNode = new HashMap<>();
  private boolean stopping;

  GatewaySessions(Vertx vertx, GatewayOptions options, RegistryRequests registry, NodeRequests requests,
                  ProbeRelay probes, CertificateReports certificates, LinkDirectory directory, GatewayMetrics metrics,
                  GatewayRefusals refusals) {
    this.vertx = vertx;
    this.options = options;
    this.registry = registry;
    this.directory = directory;
    this.metrics = metrics;
    this.refusals = refusals;
    this.certificates = certificates;
    this.control = new SessionControl(options, registry, requests, probes, certificates, this);
  }

  int size() {
    return byNode.size();
  }

  /** True once the gateway began to stop: no session begins any more. */
  boolean stopping() {
    return stopping;
  }

  /** What {@link #endAll} ended: the link connections tunnels still use, and the registry's answers. */
  record Ending(List<NodeLinks> links, Future<Void> registryTold) {
  }

  /**
   * Begins the gateway's stop: every session is told {@code bye} and ends ({@code reason} in its
   * log line), and no session begins any more. The registry hears of each session (each answer
   * bounded by its timeout); the sessions' link connections stay open for the tunnels running on them.
   */
  Ending endAll(Bye bye, String reason) {
    stopping = true;
    List<NodeLinks> links = new ArrayList<>();
    List<Future<Void>> told = new ArrayList<>();
    for (Session session : List.copyOf(byNode.values())) {
      links.add(session.links);
      session.send(bye);
      told.add(end(session, reason));
    }
    return new Ending(links, Future.join(told).mapEmpty());
  }

  /**
   * A login the registry granted on {@code socket}: the node's session begins (its Welcome, its
   * heartbeat and lease timers, its control messages, {@code early} ones first).
   */
  Session admit(ControlChannel socket, FrameReader reader, List<ControlMessage> early, NodeSession granted) {
    Session older = byNode.get(granted.nodeId());
    if (older != null) {
      older.send(new Bye("replaced by a newer session"));
      end(older, "replaced by a newer session (epoch " + granted.epoch() + ")");
    }
    Session session = new Session(NodeSecrets.newSecret(), NodeSecrets.newSecret(), granted, socket);
    byNode.put(session.nodeId, session);
    directory.put(session.links);
    metrics.sessions(byNode.size());
    refusals.loggedIn();
    session.send(session.welcome(options.getGatewayId(), options.getHeartbeatMillis(), options.getLinksPerNode()));
    session.heartbeatTimer = vertx.setPeriodic(options.getHeartbeatMillis(), id -> control.heartbeat(session));
    if (session.leaseMillis > 0) {
      session.renewTimer = vertx.setPeriodic(Math.max(session.leaseMillis / 3, MIN_RENEW_INTERVAL_MILLIS),
          id -> control.renewLease(session));
    }
    socket.closeHandler(() -> end(session, "control connection closed"));
    socket.handler(chunk -> control.onControlBytes(session, reader, chunk));
    LOG.log(Level.INFO, "node " + session.nodeId + " (" + session.fqdn + ") from " + socket.remoteAddress()
        + " logged in, epoch " + session.epoch + ", ports " + session.ports);
    for (ControlMessage message : early) {
      if (!session.ended) {
        control.onControlMessage(session, message);
      }
    }
    socket.resume();
    return session;
  }

  /**
   * Ends a session once: the registry hears SessionClosed, idle data connections close, waiting
   * opens fail. Tunnels already running are left to finish.
   */
  @Override
  public Future<Void> end(Session session, String reason) {
    if (session.ended) {
      return Future.succeededFuture();
    }
    session.ended = true;
    vertx.cancelTimer(session.heartbeatTimer);
    vertx.cancelTimer(session.renewTimer);
    byNode.remove(session.nodeId, session);
    directory.remove(session.links);
    metrics.sessions(byNode.size());
    certificates.ended(session);
    session.control.close();
    LOG.log(Level.INFO, "session of " + session.nodeId + " (epoch " + session.epoch + ") ended: " + reason);
    return registry.sessionClosed(new SessionClosed(session.nodeId, options.getGatewayId(), session.epoch),
        stopping);
  }

  /** Passes a node's alias states to its session here, if it has one and its node understands them. */
  void aliases(AliasStatus status) {
    Session session = status == null || status.nodeId() == null ? null : byNode.get(status.nodeId());
    if (session != null && !session.ended) {
      session.verifiedAliases = status.aliases().stream().filter(AliasInfo::verified)
          .map(AliasInfo::alias).collect(Collectors.toUnmodifiableSet());
      if (session.aliasAware) {
        session.send(new ControlMessage.Aliases(status.aliases()));
      }
    }
  }

  /**
   * An admin changed a tailnet's Funnel switch or ports: each of its nodes here whose refusals change
   * hears a new Welcome (as after a ServeUpdate), so the node's log and {@code funnel status} say
   * which ports are public now. A session with a ports update out applies the policy to its answer.
   */
  void policyChanged(TailnetPolicy policy) {
    if (policy == null || policy.tailnet() == null) {
      return;
    }
    for (Session session : byNode.values()) {
      if (session.ended || !policy.tailnet().equals(session.tailnet)) {
        continue;
      }
      if (session.portsUpdating > 0) {
        session.pendingPolicy = policy;
      } else if (session.applyPolicy(policy)) {
        LOG.log(Level.INFO, "tailnet " + policy.tailnet() + "'s policy changed: telling " + session.nodeId
            + (session.refused.isEmpty() ? " every port is routed" : " ports " + session.refused.keySet()
                + " are refused"));
        session.send(session.welcome(options.getGatewayId(), options.getHeartbeatMillis(), options.getLinksPerNode()));
      }
    }
  }

  /** The registry ended a session (an admin's revocation, a newer login elsewhere): the node hears why. */
  void kick(SessionKick kick) {
    Session session = byNode.get(kick.nodeId());
    if (session == null) {
      return;
    }
    LOG.log(Level.INFO, "kicking " + session.nodeId + ": " + kick.reason());
    session.send(new Bye(kick.reason()));
    end(session, "kicked (" + kick.reason() + ")");
  }

  /** {@code nodeId}'s live session here, or null. */
  Session of(String nodeId) {
    return byNode.get(nodeId);
  }
}
