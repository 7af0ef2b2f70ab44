package dev.funnel.node;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxtReply;
import dev.funnel.common.peerapi.ControlMessage.ProbeReply;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The requests one session sent its gateway that wait for an answer: ServeUpdates (answered by a
 * Welcome, in order), SignRequests (SignReply, in order), Probes (ProbeReply, by id) and AcmeTxts
 * (AcmeTxtReply, by id). Each has a deadline (the login timeout; a probe's own), and all fail when
 * the session ends. Event loop only.
 */
final class SessionReplies {

  /** The session's logger: these lines were always the session's. */
  private static final System.Logger LOG = System.getLogger(Session.class.getName());

  /** How long the node waits for a ProbeReply (the gateway's own bound is shorter). */
  static final long PROBE_REPLY_TIMEOUT_MILLIS = 15_000;

  private record Pending<T>(Promise<T> promise, long timer) {
  }

  private final Vertx vertx;
  private final HostPort server;
  private final long timeoutMillis;
  private final ArrayDeque<Pending<Void>> serveUpdates = new ArrayDeque<>();
  private final ArrayDeque<Pending<String>> signRequests = new ArrayDeque<>();
  /** Probes waiting for their ProbeReply, by id (one or two at a time: the gateway runs one per session). */
  private final Map<Long, Pending<ProbeResult>> probes = new HashMap<>();
  private long nextProbeId;
  /** AcmeTxt requests waiting for their AcmeTxtReply, by id. */
  private final Map<Long, Pending<Void>> acmeTxts = new HashMap<>();
  private long nextAcmeTxtId = 1;

  SessionReplies(Vertx vertx, HostPort server, long timeoutMillis) {
    this.vertx = vertx;
    this.server = server;
    this.timeoutMillis = timeoutMillis;
  }

  /** A ServeUpdate is about to be sent: completes at the Welcome answering it. */
  Future<Void> serveUpdate() {
    Promise<Void> promise = Promise.promise();
    serveUpdates.add(new Pending<>(promise, deadline(promise, "the gateway did not answer the serve update")));
    return promise.future();
  }

  /** Whether a ServeUpdate waits for its Welcome (a Welcome that answers none is the server's own news). */
  boolean serveUpdateWaiting() {
    return !serveUpdates.isEmpty();
  }

  /** A Welcome came while up: it answers the oldest ServeUpdate, if one waits. */
  void welcomed() {
    Pending<Void> update = serveUpdates.poll();
    if (update != null) {
      vertx.cancelTimer(update.timer());
      update.promise().tryComplete();
    }
  }

  /** A SignRequest is about to be sent: completes with the SignReply's chain. */
  Future<String> signRequest() {
    Promise<String> promise = Promise.promise();
    signRequests.add(new Pending<>(promise, deadline(promise, "the gateway did not answer the sign request")));
    return promise.future();
  }

  void signed(SignReply r) {
    Pending<String> pending = signRequests.poll();
    if (pending == null) {
      LOG.log(Level.WARNING, "unexpected sign reply from {0}; ignoring", server);
      return;
    }
    vertx.cancelTimer(pending.timer());
    if (r.certChainPem() != null && r.error() == null) {
      pending.promise().tryComplete(r.certChainPem());
    } else {
      pending.promise().tryFail("the server refused to sign: " + (r.error() == null ? "no reason" : r.error()));
    }
  }

  /** The id of the next Probe. */
  long nextProbeId() {
    return ++nextProbeId;
  }

  /** Probe {@code id} is about to be sent: completes with its ProbeReply's result. */
  Future<ProbeResult> probe(long id) {
    Promise<ProbeResult> promise = Promise.promise();
    long timer = vertx.setTimer(PROBE_REPLY_TIMEOUT_MILLIS, t -> {
      probes.remove(id);
      promise.tryFail("the gateway did not answer the probe within " + PROBE_REPLY_TIMEOUT_MILLIS + " ms");
    });
    probes.put(id, new Pending<>(promise, timer));
    return promise.future();
  }

  void probed(ProbeReply reply) {
    Pending<ProbeResult> pending = probes.remove(reply.id());
    if (pending != null) {
      vertx.cancelTimer(pending.timer());
      pending.promise().tryComplete(reply.result());
    }
  }

  /** The id of the next AcmeTxt. */
  long nextAcmeTxtId() {
    return nextAcmeTxtId++;
  }

  /** AcmeTxt {@code id} is about to be sent: completes at its AcmeTxtReply. */
  Future<Void> acmeTxt(long id) {
    Promise<Void> promise = Promise.promise();
    acmeTxts.put(id, new Pending<>(promise, deadline(promise, "the gateway did not answer the ACME challenge request")));
    promise.future().onComplete(done -> acmeTxts.remove(id));
    return promise.future();
  }

  void acmeTxtAnswered(AcmeTxtReply r) {
    Pending<Void> pending = acmeTxts.remove(r.id());
    if (pending == null) {
      LOG.log(Level.DEBUG, "ACME challenge reply {0} from {1} answers nothing waiting; ignoring", r.id(), server);
      return;
    }
    vertx.cancelTimer(pending.timer());
    if (r.error() == null) {
      pending.promise().tryComplete();
    } else {
      pending.promise().tryFail("the server refused the ACME challenge record: " + r.error());
    }
  }

  /** The session ended: every request still waiting fails with {@code reason}. */
  void failAll(String reason) {
    failAll(List.copyOf(serveUpdates), reason);
    serveUpdates.clear();
    failAll(List.copyOf(signRequests), reason);
    signRequests.clear();
    failAll(List.copyOf(probes.values()), reason);
    probes.clear();
    failAll(List.copyOf(acmeTxts.values()), reason);
    acmeTxts.clear();
  }

  private <T> void failAll(List<Pending<T>> pending, String reason) {
    for (Pending<T> p : pending) {
      vertx.cancelTimer(p.timer());
      p.promise().tryFail("session ended: " + reason);
    }
  }

  private <T> long deadline(Promise<T> promise, String message) {
    return vertx.setTimer(timeoutMillis, id -> promise.tryFail(message + " within " + timeoutMillis + " ms"));
  }
}
