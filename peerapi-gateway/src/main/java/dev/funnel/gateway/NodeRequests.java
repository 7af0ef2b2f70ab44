package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.AcmeChallengeRequest;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxt;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxtReply;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.Set;

/**
 * What a node asks of its gateway on the control channel besides its session's upkeep: a report
 * that its session on another gateway was lost, a dns-01 TXT value for its own name, a certificate
 * signed for its own name. The gateway vouches for the node: every request names the node from its
 * authenticated session, never from the message. Each is bounded per session. Event loop only.
 */
final class NodeRequests {

  private static final System.Logger LOG = System.getLogger(NodeRequests.class.getName());

  /** A node's session-loss reports waiting on the registry at once; more are dropped (a node has few sessions). */
  static final int MAX_LOSS_REPORTS_IN_FLIGHT = 4;
  /** AcmeTxt requests one session may have waiting on the registry. */
  static final int MAX_ACME_TXT_IN_FLIGHT = 4;

  private final Vertx vertx;
  private final String gatewayId;
  private final DevCa signingCa;
  private final RegistryRequests registry;

  /** @param signingCa signs nodes' requests for their own name; null when this gateway does not sign */
  NodeRequests(Vertx vertx, String gatewayId, DevCa signingCa, RegistryRequests registry) {
    this.vertx = vertx;
    this.gatewayId = gatewayId;
    this.signingCa = signingCa;
    this.registry = registry;
  }

  /**
   * The node says its session with another gateway dropped: tell the registry, naming the node from
   * this authenticated session (never from the message), so the registry withdraws that route now
   * instead of when the cluster notices the other gateway is gone. The registry decides whether it
   * accepts the report; the node hears nothing back.
   */
  void reportLoss(Session session, SessionLost lost) {
    if (session.lossReportsInFlight >= MAX_LOSS_REPORTS_IN_FLIGHT) {
      LOG.log(Level.INFO, "session-loss report of " + session.nodeId + " about " + lost.gatewayId() + ": "
          + MAX_LOSS_REPORTS_IN_FLIGHT + " already waiting on the registry; rejecting");
      return;
    }
    session.lossReportsInFlight++;
    SessionLossReport report = new SessionLossReport(session.nodeId, lost.gatewayId(), lost.epoch(),
        gatewayId, session.epoch, lost.reason());
    registry.ask(Addresses.REGISTRY_SESSION_LOST, report).onComplete(answered -> {
      session.lossReportsInFlight--;
      if (answered.succeeded()) {
        LOG.log(Level.INFO, "node " + session.nodeId + " lost its session on " + lost.gatewayId() + " (epoch "
            + lost.epoch() + ": " + lost.reason() + "); the registry withdrew that route");
      } else {
        LOG.log(Level.INFO, "node " + session.nodeId + "'s report that its session on " + lost.gatewayId()
            + " was lost: the registry did not take it (" + answered.cause().getMessage() + ")");
      }
    });
  }

  /**
   * A node's dns-01 value for its own name: passed to the registry with this session's identity
   * (the registry checks the name and hands it to public DNS); answered with AcmeTxtReply. At most
   * {@link #MAX_ACME_TXT_IN_FLIGHT} wait on the registry per session.
   */
  void acmeTxt(Session session, AcmeTxt txt) {
    if (session.acmeTxtInFlight >= MAX_ACME_TXT_IN_FLIGHT) {
      session.send(new AcmeTxtReply(txt.id(), "too many ACME challenge requests at once"));
      return;
    }
    session.acmeTxtInFlight++;
    AcmeChallengeRequest request = new AcmeChallengeRequest(session.nodeId, gatewayId, session.epoch,
        txt.name(), txt.value(), txt.present());
    registry.ask(Addresses.REGISTRY_ACME_CHALLENGE, request).onComplete(answered -> {
      session.acmeTxtInFlight--;
      if (session.ended) {
        return;
      }
      if (answered.succeeded()) {
        session.send(new AcmeTxtReply(txt.id(), null));
      } else {
        LOG.log(Level.INFO, "ACME challenge of " + session.nodeId + ": " + answered.cause().getMessage() + "; rejecting");
        session.send(new AcmeTxtReply(txt.id(), answered.cause().getMessage()));
      }
    });
  }

  /** Signs the node's CSR, for its own name (and its verified custom domains) only, off the event loop; one request at a time per session. */
  void sign(Session session, String csrPem) {
    if (signingCa == null) {
      session.send(new SignReply(null, "this gateway cannot sign certificates"));
      return;
    }
    if (session.signing) {
      session.send(new SignReply(null, "a certificate request is already being signed"));
      return;
    }
    session.signing = true;
    Set<String> ownName = new java.util.HashSet<>(session.verifiedAliases);   // verified custom domains too
    ownName.add(session.fqdn.toLowerCase(Locale.ROOT));
    vertx.executeBlocking(() -> signingCa.signRequest(csrPem, ownName, DevCa.LEAF_VALIDITY), false)
        .onComplete(signed -> {
          session.signing = false;
          if (session.ended) {
            return;
          }
          if (signed.succeeded()) {
            LOG.log(Level.INFO, "signed a certificate for " + session.fqdn);
            session.send(new SignReply(signed.result(), null));
            return;
          }
          String reason = signed.cause() instanceof IllegalArgumentException
              ? signed.cause().getMessage() : "the request could not be signed";
          LOG.log(Level.INFO, "certificate request of " + session.nodeId + ": " + reason + "; rejecting");
          session.send(new SignReply(null, reason));
        });
  }
}
