package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NodeCertReport;
import dev.funnel.common.peerapi.ControlMessage.CertificateExpiry;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;

/**
 * A node's {@link CertificateExpiry} on its control channel: counted by how soon it expires
 * ({@code funnel_gateway_node_certificates}, one value per session, dropped when the session ends)
 * and published to the registries ({@link Addresses#NODE_CERT}) under the session's node id, never
 * one from the message, for the console and {@code GET /v1/nodes}. A value repeated, out of range
 * (before 2000, after 2200) or past {@link #MAX_PER_SESSION} reports is ignored. Event loop only.
 */
final class CertificateReports {

  private static final System.Logger LOG = System.getLogger(CertificateReports.class.getName());

  /** Reports per session at most (a node sends one per welcome and per new certificate). */
  static final int MAX_PER_SESSION = 64;
  private static final long YEAR_2000 = 946_684_800L;
  private static final long YEAR_2200 = 7_258_118_400L;

  private final Vertx vertx;
  private final GatewayMetrics metrics;

  CertificateReports(Vertx vertx, GatewayMetrics metrics) {
    this.vertx = vertx;
    this.metrics = metrics;
  }

  void report(Session session, long notAfter) {
    if (notAfter == session.certNotAfter) {
      return;
    }
    if (notAfter < YEAR_2000 || notAfter > YEAR_2200 || session.certReports >= MAX_PER_SESSION) {
      LOG.log(Level.INFO, "node {0}: certificate expiry {1} ignored (out of range or too many reports)",
          session.fqdn, String.valueOf(notAfter));
      return;
    }
    session.certNotAfter = notAfter;
    session.certReports++;
    metrics.certificate(session.sessionId, notAfter);
    vertx.eventBus().publish(Addresses.NODE_CERT, new NodeCertReport(session.nodeId, notAfter));
  }

  /** The session ended: its certificate is no longer counted. */
  void ended(Session session) {
    metrics.certificateGone(session.sessionId);
  }
}
