package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxt;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Pong;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignRequest;
import dev.funnel.common.peerapi.FrameReader;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What an admitted session's control connection does: each message the node sends (Ping → Pong,
 * serve updates — at most {@link #MAX_SERVE_UPDATES} per {@link #SERVE_UPDATE_WINDOW_MILLIS}, more
 * end the session —, certificate and ACME requests, loss reports, probes, Bye), a protocol violation
 * (Bye, then the end), and the session's two timers: the heartbeat (Ping, or the end of a session
 * silent for the session timeout) and the lease renewal (a lease the registry no longer knows ends
 * the session). Runs on the gateway verticle's event loop, like the sessions it serves; logs under
 * the verticle's name, as before the split.
 */
final class SessionControl {

  private static final System.Logger LOG = System.getLogger(GatewayVerticle.class.getName());

  /** Serve updates one session may send per {@link #SERVE_UPDATE_WINDOW_MILLIS}; more end the session. */
  static final int MAX_SERVE_UPDATES = 20;
  static final long SERVE_UPDATE_WINDOW_MILLIS = 10_000;

  /** How a session ends ({@link GatewaySessions}: registry, directory, timers). */
  interface Sessions {
    Future<Void> end(Session session, String reason);
  }

  private final GatewayOptions options;
  private final RegistryRequests registry;
  private final NodeRequests requests;
  private final ProbeRelay probes;
  private final CertificateReports certificates;
  private final Sessions sessions;

  SessionControl(GatewayOptions options, RegistryRequests registry, NodeRequests requests, ProbeRelay probes,
                 CertificateReports certificates, Sessions sessions) {
    this.options = options;
    this.registry = registry;
    this.requests = requests;
    this.probes = probes;
    this.certificates = certificates;
    this.sessions = sessions;
  }

  void onControlBytes(Session session, FrameReader reader, Buffer chunk) {
    List<ControlMessage> messages;
    try {
      messages = reader.feed(chunk);
    } catch (ControlMessage.InvalidMessage e) {
      protocolViolation(session, e.getMessage());
      return;
    }
    session.lastHeardNanos = System.nanoTime();
    for (ControlMessage message : messages) {
      if (session.ended) {
        return;
      }
      onControlMessage(session, message);
    }
  }

  void onControlMessage(Session session, ControlMessage message) {
    if (message instanceof Ping ping) {
      session.send(new Pong(ping.seq()));
    } else if (message instanceof Pong) {
      // liveness only: lastHeardNanos is already updated
    } else if (message instanceof ServeUpdate update) {
      if (serveUpdateFlood(session)) {
        protocolViolation(session, "more than " + MAX_SERVE_UPDATES + " serve updates in "
            + SERVE_UPDATE_WINDOW_MILLIS + " ms");
        return;
      }
      updatePorts(session, update.ports());
    } else if (message instanceof SignRequest request) {
      requests.sign(session, request.csrPem());
    } else if (message instanceof SessionLost lost) {
      requests.reportLoss(session, lost);
    } else if (message instanceof ControlMessage.Probe probe) {
      probes.probe(session, probe);
    } else if (message instanceof AcmeTxt txt) {
      requests.acmeTxt(session, txt);
    } else if (message instanceof ControlMessage.CertificateExpiry expiry) {
      certificates.report(session, expiry.notAfter());
    } else if (message instanceof Bye bye) {
      sessions.end(session, "node said bye (" + bye.reason() + ")");
    } else {
      protocolViolation(session, "unexpected " + typeOf(message) + " on a control connection");
    }
  }

  /** Counts a serve update; true when the session sent too many in the current window. */
  private static boolean serveUpdateFlood(Session session) {
    long now = System.nanoTime();
    if (now - session.serveUpdateWindowStart > TimeUnit.MILLISECONDS.toNanos(SERVE_UPDATE_WINDOW_MILLIS)) {
      session.serveUpdateWindowStart = now;
      session.serveUpdates = 0;
    }
    return ++session.serveUpdates > MAX_SERVE_UPDATES;
  }

  private void protocolViolation(Session session, String reason) {
    LOG.log(Level.INFO, "control connection of " + session.nodeId + ": " + reason + "; closing");
    session.send(new Bye("protocol error: " + reason));
    sessions.end(session, "protocol error");
  }

  /** Pings the node, and ends a session that has been silent for the session timeout. */
  void heartbeat(Session session) {
    long silentMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - session.lastHeardNanos);
    if (silentMillis >= options.getSessionTimeoutMillis()) {
      session.send(new Bye("silent for " + silentMillis + " ms"));
      sessions.end(session, "silent for " + silentMillis + " ms");
      return;
    }
    session.send(new Ping(session.nextPingSeq++));
  }

  /** Extends the lease; a lease the registry no longer knows ends the session (the node logs in again). */
  void renewLease(Session session) {
    if (session.renewing) {
      return;
    }
    session.renewing = true;
    registry.ask(Addresses.REGISTRY_RENEW, new LeaseRenewal(session.nodeId, options.getGatewayId(), session.epoch))
        .onComplete(renewed -> {
          session.renewing = false;
          if (renewed.succeeded() || session.ended) {
            return;
          }
          if (isLeaseUnknown(renewed.cause())) {
            leaseLost(session);
            return;
          }
          LOG.log(Level.WARNING, "renewing the lease of " + session.nodeId + " failed: "
              + renewed.cause().getMessage() + "; retrying next tick");
        });
  }

  private void leaseLost(Session session) {
    session.send(new Bye("lease lost"));
    sessions.end(session, "the registry lost its lease");
  }

  /** The node changed what it funnels: the registry decides, the node hears the result as a new Welcome. */
  private void updatePorts(Session session, List<Integer> ports) {
    session.portsUpdating++;
    registry.<NodeSession>ask(Addresses.REGISTRY_PORTS,
            new PortsUpdate(session.nodeId, options.getGatewayId(), session.epoch, ports))
        .onComplete(updated -> {
          session.portsUpdating--;
          if (session.ended) {
            return;
          }
          if (updated.failed() && isLeaseUnknown(updated.cause())) {
            leaseLost(session);
            return;
          }
          if (updated.succeeded()) {
            session.ports = updated.result().ports();
            session.refused = updated.result().refused();
          } else {
            LOG.log(Level.INFO, "ports update of " + session.nodeId + " to " + ports + " refused: "
                + updated.cause().getMessage() + "; keeping " + session.ports);
          }
          if (session.pendingPolicy != null && session.portsUpdating == 0) {
            // The registry's answer may predate the tailnet's change: the policy's part is decided again.
            session.applyPolicy(session.pendingPolicy);
            session.pendingPolicy = null;
          }
          session.send(session.welcome(options.getGatewayId(), options.getHeartbeatMillis(), options.getLinksPerNode()));
        });
  }

  private static boolean isLeaseUnknown(Throwable failure) {
    return FailureCode.of(failure).flatMap(LoginFailure::fromCode).orElse(null) == LoginFailure.LEASE_UNKNOWN;
  }

  private static String typeOf(ControlMessage message) {
    return message.toJson().getString("type");
  }
}
