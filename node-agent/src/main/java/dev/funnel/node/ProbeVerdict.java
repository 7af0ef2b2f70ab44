package dev.funnel.node;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.bus.ProbeResult.Outcome;

/**
 * Which hop of the public path failed, from what was observed during one probe (pure: no I/O).
 *
 * <pre>
 * client ─DNS─▶ frontend ─resolve─▶ registry ─▶ gateway ─offer─▶ node ─▶ local target
 * </pre>
 *
 * Observed: whether the gateway answered the node's probe at all; what the frontend saw (registry
 * refusal, connect failure, handshake failure or success, the certificate's fingerprint, the probe
 * connection's source address); whether this node received the probe's tunnel (an offer from that
 * source) and what it answered; the node's own check of its local target; and what Funnel's DNS
 * answers when it runs one. The first hop on the path that failed is named; DNS is named only when
 * every other hop worked (a refused name has no DNS record either, and the refusal is the cause).
 */
final class ProbeVerdict {

  private ProbeVerdict() {
  }

  /** The hops, in path order; NONE when nothing failed (or nothing was probed). */
  enum Hop {
    NONE, DNS, FRONTEND, REGISTRY, GATEWAY, NODE, LOCAL_TARGET;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }
  }

  /**
   * @param gatewayFailure why the node got no answer from its gateway (no session up, no reply in time); null if it did
   * @param result         what the server side saw; null when {@code gatewayFailure} is set
   * @param expected       SHA-256 of this node's certificate for the port (terminated targets); null for tcp://
   * @param offerStatus    the node's answer to the probe's tunnel (200, 403, 503…); 0 when it never arrived
   * @param localFailure   why the node's own check of its local target failed; null when it answered
   */
  record Observation(String gatewayFailure, ProbeResult result, String expected, int offerStatus, String localFailure) {
  }

  record Verdict(boolean ok, Hop hop, String message) {
  }

  static Verdict judge(Observation o) {
    Verdict path = path(o);
    if (!path.ok()) {
      return path;
    }
    ProbeResult r = o.result();
    if (r.dnsListen() != null && r.dnsAnswers().isEmpty()) {
      return new Verdict(false, Hop.DNS, "the public path works, but Funnel's DNS (" + r.dnsListen()
          + ") gives no address for the name");
    }
    return path;
  }

  private static Verdict path(Observation o) {
    if (o.gatewayFailure() != null || o.result() == null) {
      return new Verdict(false, Hop.GATEWAY, "no answer from the gateway: "
          + (o.gatewayFailure() == null ? "no result" : o.gatewayFailure()));
    }
    ProbeResult r = o.result();
    String code = r.code() == null ? "" : " (" + r.code() + ")";
    switch (r.outcome()) {
      case RATE_LIMITED:
        return new Verdict(false, Hop.NONE, "not probed: " + r.detail());
      case NO_FRONTEND:
      case TIMEOUT:
      case FRONTEND_DIAL_FAILED:
        return new Verdict(false, Hop.FRONTEND, r.detail());
      case NO_REGISTRY:
        return new Verdict(false, Hop.REGISTRY, r.detail());
      case REGISTRY_REFUSED:
        return new Verdict(false, Hop.REGISTRY, "the registry refuses the name" + code + ": " + r.detail());
      case HANDSHAKE_FAILED:
        return handshakeFailed(o, code);
      case HANDSHAKE_DONE:
      default:
        return handshakeDone(o);
    }
  }

  private static Verdict handshakeFailed(Observation o, String code) {
    int status = o.offerStatus();
    String detail = o.result().detail();
    if (status == 0) {
      return new Verdict(false, Hop.GATEWAY, "the tunnel never reached this node" + code + ": " + detail);
    }
    if (status == 503) {
      return new Verdict(false, Hop.LOCAL_TARGET, "this node could not reach its local target"
          + (o.localFailure() == null ? "" : ": " + o.localFailure()));
    }
    if (status != 200) {
      return new Verdict(false, Hop.NODE, "this node refused the tunnel (answered " + status + ")");
    }
    if (o.expected() == null) {
      return new Verdict(false, Hop.LOCAL_TARGET, "the local server took the tunnel, but the TLS handshake failed: "
          + detail);
    }
    return new Verdict(false, Hop.NODE, "this node's terminator took the tunnel, but the TLS handshake failed: "
        + detail);
  }

  private static Verdict handshakeDone(Observation o) {
    ProbeResult r = o.result();
    if (o.expected() != null) {
      if (r.fingerprint() == null || !r.fingerprint().equalsIgnoreCase(o.expected())) {
        return new Verdict(false, Hop.NODE, "a TLS handshake completed, but not with this node's certificate"
            + " (another answer came back)");
      }
    } else if (o.offerStatus() != 200) {
      return new Verdict(false, Hop.NODE, "a TLS handshake completed, but this node never accepted the probe's"
          + " tunnel (another answer came back)");
    }
    if (o.localFailure() != null) {
      return new Verdict(false, Hop.LOCAL_TARGET, "the public path reaches this node, but its local target does not"
          + " answer: " + o.localFailure());
    }
    String by = o.expected() != null ? "this node's certificate came back" : "this node's local server answered";
    return new Verdict(true, Hop.NONE, by + " in " + r.millis() + " ms");
  }

  /** True when {@code outcome} means the frontend connected (so a source address may be known). */
  static boolean connected(Outcome outcome) {
    return outcome == Outcome.HANDSHAKE_DONE || outcome == Outcome.HANDSHAKE_FAILED;
  }
}
