package dev.funnel.node;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * The live probe of {@code funnel status}, node side: checks the local target of {@code port}
 * itself (a TCP connect), asks the server side through the session's control channel to dial
 * this node's public name through a frontend's public listener (the gateway fills in the name from
 * the session, so only this node can be probed), watches for the probe's own tunnel among the
 * offers it answers, and judges which hop failed ({@link ProbeVerdict}). For a terminated target
 * the node recognises its answer by its certificate's fingerprint; for {@code tcp://} (whose local
 * server holds its own certificate) by the probe's tunnel reaching it and being accepted.
 */
public final class PublicPathProbe {

  private final NodeAgentVerticle agent;
  private final LocalTargetCheck local;

  public PublicPathProbe(Vertx vertx, NodeAgentVerticle agent) {
    this.agent = agent;
    this.local = new LocalTargetCheck(vertx);
  }

  /** What one probe found. {@code result} is null when the gateway never answered. */
  public record Report(int port, boolean ok, String hop, String message, ProbeResult result, int offerStatus,
                       String localFailure, long millis) {
  }

  /**
   * Probes {@code port}, whose target is {@code target}; {@code fingerprint} is the SHA-256 (hex) of
   * the certificate this node answers with for it, or null for {@code tcp://}. Never fails.
   */
  public Future<Report> probe(int port, ServeTarget target, String fingerprint) {
    long started = System.nanoTime();
    Future<String> localCheck = local.check(target);
    OfferLog offers = agent.offers();
    offers.watch();
    Future<ProbeResult> remote = agent.requestProbe(port, fingerprint);
    return Future.join(localCheck, remote).transform(both -> {
      String localFailure = localCheck.result();
      ProbeResult result = remote.succeeded() ? remote.result() : null;
      int offerStatus = result == null ? 0 : offers.statusFor(result.source(), port);
      offers.unwatch();
      ProbeVerdict.Verdict verdict = ProbeVerdict.judge(new ProbeVerdict.Observation(
          remote.failed() ? NodeAgentVerticle.reason(remote.cause()) : null, result, fingerprint, offerStatus,
          localFailure));
      long millis = (System.nanoTime() - started) / 1_000_000;
      return Future.succeededFuture(new Report(port, verdict.ok(), verdict.hop().label(), verdict.message(), result,
          offerStatus, localFailure, millis));
    });
  }

  /** Whether each of {@code targets} (a port's routes' own) accepts a connection: those that did not, target → why. Never fails. */
  public Future<java.util.Map<ServeTarget, String>> localTargets(java.util.Collection<ServeTarget> targets) {
    return local.all(targets);
  }

  public void close() {
    local.close();
  }
}
