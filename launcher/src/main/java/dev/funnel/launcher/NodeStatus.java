package dev.funnel.launcher;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.tls.DevCa;
import dev.funnel.node.NodeAgentVerticle;
import dev.funnel.node.PublicPathProbe;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What {@code funnel status} shows of a running node, as JSON ({@code GET /v1/status} on the local
 * control): what is public (URL, port, target, and whether the server routes it), the sessions and
 * their link connections, the certificate (issuer, days left), what Funnel's DNS answers for the
 * name (when Funnel runs one), and, unless asked not to, a live probe of each public port through
 * the server's public side ({@link PublicPathProbe}). Blocking: runs on the control's own thread.
 */
final class NodeStatus {

  /** Bound on one port's probe as a whole (the node's reply timeout is 15 s). */
  static final long PROBE_TIMEOUT_MILLIS = 20_000;

  private NodeStatus() {
  }

  static JsonObject build(NodeAgentVerticle agent, PublicPathProbe prober, String fqdn,
                          ServeConfig serve, Path certFile, boolean probe) {
    Map<Integer, String> refused = agent.refusedPorts();
    JsonObject certificate = certificate(certFile, fqdn);
    String fingerprint = certificate == null ? null : certificate.getString("sha256");

    JsonArray sessions = new JsonArray();
    for (NodeAgentVerticle.SessionInfo s : agent.sessions()) {
      sessions.add(new JsonObject().put("server", s.server().toString()).put("gatewayId", s.gatewayId())
          .put("up", s.up()).put("links", s.links()).put("ports", new JsonArray(s.ports())));
    }

    JsonArray ports = new JsonArray();
    JsonObject dns = null;
    boolean sessionUp = agent.sessions().stream().anyMatch(NodeAgentVerticle.SessionInfo::up);
    boolean ok = sessionUp;
    for (ServePort servePort : serve.ports().values()) {
      int port = servePort.port();
      // The offer's target (the terminator for routed ports): what the probe's tunnel reaches.
      ServeTarget target = servePort.agentTarget();
      // With the probe, every route's own target is checked too (the probe's tunnel reaches "/" only).
      Map<ServeTarget, String> notAnswering = probe ? localTargets(prober, servePort) : Map.of();
      JsonArray routes = new JsonArray();
      for (int i = servePort.routes().size() - 1; i >= 0; i--) {   // shortest path first, as serve list
        ServeRoute r = servePort.routes().get(i);
        GatePolicy gate = servePort.effective(r);
        JsonObject route = new JsonObject().put("path", r.path()).put("target", r.target().toString())
            .put("gate", gate.isEmpty() ? "none" : gate.describe());
        if (probe && r.target().port() > 0) {
          route.put("localTarget", notAnswering.getOrDefault(r.target(), "answers"));
        }
        routes.add(route);
      }
      ok &= notAnswering.isEmpty();
      JsonObject entry = new JsonObject().put("port", port)
          .put("url", "https://" + fqdn + (port == 443 ? "" : ":" + port) + "/")
          .put("target", target.toString())
          .put("routes", routes)
          // Without a session the node cannot know what the server routes now.
          .put("routed", sessionUp ? !refused.containsKey(port) : null);
      if (refused.containsKey(port)) {
        entry.put("refused", refused.get(port));
        ok = false;
      }
      if (probe) {
        PublicPathProbe.Report report = probe(prober, port, target, target.kind().terminatesTls() ? fingerprint : null);
        entry.put("probe", probeJson(report));
        // The registry's answer now is fresher than what the node was told at its last Welcome
        // (an admin may have turned Funnel off or changed the tailnet's ports since).
        ProbeResult seen = report.result();
        if (seen != null && seen.outcome() == ProbeResult.Outcome.REGISTRY_REFUSED && !refused.containsKey(port)
            && ("FUNNEL_OFF".equals(seen.code()) || "PORT_NOT_ALLOWED".equals(seen.code()))) {
          entry.put("routed", false).put("refused", dev.funnel.common.bus.PortRefusals.POLICY + ": " + seen.detail());
        }
        ok &= report.ok();
        if (dns == null && report.result() != null) {
          dns = dnsJson(report.result());
        }
      }
      ports.add(entry);
    }
    JsonObject out = new JsonObject().put("fqdn", fqdn).put("ok", ok).put("public", ports).put("sessions", sessions)
        .put("certificate", certificate);
    JsonArray aliases = new JsonArray();
    agent.aliases().all().forEach(a -> aliases.add(new JsonObject().put("alias", a.alias()).put("state", a.state().label())
        .put("reason", a.reason()).put("records", a.token() == null ? null : a.records())));
    out.put("aliases", aliases);
    out.put("dns", dns != null ? dns : new JsonObject().put("run", (Boolean) null)
        .put("note", probe ? "unknown (no probe reached the server)" : "not probed (--no-probe)"));
    return out;
  }

  private static Map<ServeTarget, String> localTargets(PublicPathProbe prober, ServePort port) {
    try {
      return prober.localTargets(port.routes().stream().map(ServeRoute::target).toList())
          .await(PROBE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return Map.of();
    }
  }

  private static PublicPathProbe.Report probe(PublicPathProbe prober, int port, ServeTarget target, String fingerprint) {
    try {
      return prober.probe(port, target, fingerprint).await(PROBE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return new PublicPathProbe.Report(port, false, "gateway", "the probe did not finish within "
          + PROBE_TIMEOUT_MILLIS + " ms", null, 0, null, PROBE_TIMEOUT_MILLIS);
    }
  }

  static JsonObject probeJson(PublicPathProbe.Report r) {
    JsonObject json = new JsonObject().put("ok", r.ok()).put("hop", r.ok() ? null : r.hop()).put("message", r.message())
        .put("millis", r.millis()).put("offerStatus", r.offerStatus()).put("localTarget",
            r.localFailure() == null ? "answers" : r.localFailure());
    if (r.result() != null) {
      ProbeResult p = r.result();
      json.put("server", new JsonObject().put("outcome", p.outcome().name()).put("code", p.code())
          .put("detail", p.detail()).put("handshakeMillis", p.millis()).put("frontendId", p.frontendId())
          .put("fingerprint", p.fingerprint()).put("source", p.source()));
    }
    return json;
  }

  static JsonObject dnsJson(ProbeResult p) {
    if (p.dnsListen() == null) {
      return new JsonObject().put("run", false).put("note", "not run by Funnel");
    }
    return new JsonObject().put("run", true).put("listen", p.dnsListen()).put("addresses", new JsonArray(p.dnsAnswers()));
  }

  /** The certificate the terminator answers with (issuer, days left, SHA-256), or null when there is none. */
  static JsonObject certificate(Path certFile, String fqdn) {
    if (certFile == null || !Files.isReadable(certFile)) {
      return null;
    }
    try {
      List<X509Certificate> chain = DevCa.Pem.certificates(Files.readString(certFile));
      if (chain.isEmpty()) {
        return null;
      }
      X509Certificate leaf = chain.get(0);
      Instant notAfter = leaf.getNotAfter().toInstant();
      long daysLeft = Duration.between(Instant.now(), notAfter).toDays();
      return new JsonObject().put("file", certFile.toString())
          .put("subject", leaf.getSubjectX500Principal().getName())
          .put("issuer", leaf.getIssuerX500Principal().getName())
          .put("notAfter", notAfter.toString()).put("daysLeft", daysLeft)
          .put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded())));
    } catch (Exception e) {
      return new JsonObject().put("file", certFile.toString()).put("error", "cannot read it: " + e.getMessage());
    }
  }
}
