package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsLookup;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.ProbeRequest;
import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.bus.ProbeResult.Outcome;
import dev.funnel.common.peerapi.ControlMessage.Probe;
import dev.funnel.common.peerapi.ControlMessage.ProbeReply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * The gateway's half of {@code funnel status}'s live probe: a node's {@link Probe} on its control
 * channel becomes a {@link ProbeRequest} to a frontend ({@link Addresses#FRONTEND_PROBE}) for the
 * node's own public name, taken from its authenticated session (never from the message: a node can
 * probe only itself), plus a look at what Funnel's DNS answers for the name
 * ({@link Addresses#DNS_LOOKUP}; no handler means Funnel runs no DNS). The answer goes back as a
 * {@link ProbeReply}. Bounded per session: one probe at a time, at most {@link #MAX_PER_WINDOW} per
 * {@link #WINDOW_MILLIS}; more are answered RATE_LIMITED at once. Event loop only.
 */
final class ProbeRelay {

  private static final System.Logger LOG = System.getLogger(ProbeRelay.class.getName());

  static final int MAX_PER_WINDOW = 10;
  static final long WINDOW_MILLIS = 60_000;
  /** The frontend's own deadline is shorter; this covers its registry lookup, connect and handshake. */
  static final long PROBE_TIMEOUT_MILLIS = 10_000;
  static final long DNS_TIMEOUT_MILLIS = 2_000;

  private final Vertx vertx;

  ProbeRelay(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Runs {@code probe} for {@code session} and sends the reply on its control channel. */
  void probe(Session session, Probe probe) {
    String limited = admit(session);
    if (limited != null) {
      LOG.log(Level.INFO, "probe of " + session.fqdn + ": " + limited + "; rejecting");
      session.send(new ProbeReply(probe.id(), ProbeResult.of(Outcome.RATE_LIMITED, null, limited)));
      return;
    }
    session.probing = true;
    ProbeRequest request = new ProbeRequest(session.fqdn, probe.port(), session.nodeId, probe.fingerprint());
    Future<DnsLookup> dns = vertx.eventBus().<DnsLookup>request(Addresses.DNS_LOOKUP, new NameQuery(session.fqdn),
            new DeliveryOptions().setSendTimeout(DNS_TIMEOUT_MILLIS))
        .map(m -> m.body())
        .recover(err -> Future.succeededFuture(noDns(err)));
    Future<ProbeResult> front = vertx.eventBus().<ProbeResult>request(Addresses.FRONTEND_PROBE, request,
            new DeliveryOptions().setSendTimeout(PROBE_TIMEOUT_MILLIS))
        .map(m -> m.body())
        .recover(err -> Future.succeededFuture(unanswered(err)));
    Future.all(dns, front).onComplete(both -> {
      session.probing = false;
      if (session.ended) {
        return;
      }
      DnsLookup lookup = dns.result();
      ProbeResult result = front.result().withDns(lookup == null ? null : lookup.listen(),
          lookup == null ? List.of() : lookup.addresses());
      LOG.log(Level.INFO, "probe of " + session.fqdn + ":" + probe.port() + ": " + result.outcome()
          + (result.code() == null ? "" : " (" + result.code() + ")"));
      session.send(new ProbeReply(probe.id(), result));
    });
  }

  /** Why this session may not probe now, or null (and the probe is counted). */
  private static String admit(Session session) {
    if (session.probing) {
      return "a probe of this node is already running";
    }
    long now = System.nanoTime();
    if (now - session.probeWindowStart > java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(WINDOW_MILLIS)) {
      session.probeWindowStart = now;
      session.probes = 0;
    }
    if (session.probes >= MAX_PER_WINDOW) {
      return "more than " + MAX_PER_WINDOW + " probes in " + WINDOW_MILLIS / 1000 + " s; try again later";
    }
    session.probes++;
    return null;
  }

  /** No DNS handler: Funnel runs no DNS (listen null); any other failure says so in the rcode. */
  private static DnsLookup noDns(Throwable err) {
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
      return null;
    }
    return new DnsLookup("?", "NO_ANSWER (" + err.getMessage() + ")", List.of());
  }

  private static ProbeResult unanswered(Throwable err) {
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT) {
      return ProbeResult.of(Outcome.TIMEOUT, null, "no frontend answered the probe within " + PROBE_TIMEOUT_MILLIS
          + " ms");
    }
    return ProbeResult.of(Outcome.NO_FRONTEND, null, unansweredDetail(err));
  }

  /** One line for people: none registered, or one registered but unreachable (killed, not yet dropped). */
  static String unansweredDetail(Throwable err) {
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
      return "no frontend is running to probe from (none in the cluster)";
    }
    return "no frontend is running to probe from (the one found could not be reached: " + err.getMessage() + ")";
  }
}
