package dev.funnel.gateway;

import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.IngressOffer;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Opens a tunnel to a node: the ingress offer as one HTTP/2 stream on the node's least busy live
 * link connection, the client's first bytes right behind it. A stream whose connection dies before the node answered is offered once more on
 * another connection; an open that finds no live link (a session just up, its links on their way)
 * waits for one as long as an offer may take. The result is the node's stream after its {@code 200}; every refusal is an
 * {@link OpenFailure}. Runs on any loop; {@link GatewayLink} for the frontend in this JVM, and behind
 * the {@link FrontendLinkServer} for frontends in other processes.
 */
final class TunnelOpener implements GatewayLink {

  private static final System.Logger LOG = System.getLogger(TunnelOpener.class.getName());

  private final GatewayOptions options;
  private final LinkDirectory directory;
  private final GatewayMetrics metrics;
  private final GatewayRefusals refusals;

  TunnelOpener(GatewayOptions options, LinkDirectory directory, GatewayMetrics metrics, GatewayRefusals refusals) {
    this.options = options;
    this.directory = directory;
    this.metrics = metrics;
    this.refusals = refusals;
  }

  @Override
  public Future<LinkStreams.End> open(OpenRequest request, ByteBuf first, EventLoop loop) {
    Promise<LinkStreams.End> result = loop.newPromise();
    // The client's first bytes go with the offer, on every attempt: this open's own reference, let
    // go once it is decided.
    ByteBuf early = first.retainedDuplicate();
    result.addListener(decided -> early.release());
    NodeLinks links = directory.byNode(request.nodeId()).orElse(null);
    if (links == null || links.epoch != request.epoch()) {
      return refuse(result, request, OpenFailure.NODE_GONE, "no session of " + request.nodeId() + " at epoch "
          + request.epoch() + " on this gateway");
    }
    IngressOffer offer;
    try {
      offer = new IngressOffer(HostPort.parse(request.clientAddress()),
          new HostPort(request.targetHost(), request.targetPort()));
    } catch (IllegalArgumentException e) {
      return refuse(result, request, OpenFailure.REFUSED, "malformed open request: " + e.getMessage());
    }
    int tunnels = links.tunnels.incrementAndGet();
    if (tunnels > options.getMaxTunnelsPerNode()) {
      links.tunnels.decrementAndGet();
      return refuse(result, request, OpenFailure.OVER_CAPACITY, request.nodeId() + " already carries "
          + (tunnels - 1) + " tunnels");
    }
    if (links.pick(null) != null) {
      attempt(result, request, links, offer, early, null, loop, System.nanoTime());
    } else {
      awaitLink(result, request, links, offer, early, loop);
    }
    return result;
  }

  /**
   * No live link connection yet: a session that just logged in (the registry routes to it at
   * once; its links follow within a handshake), or one whose links are redialling. The open waits
   * for the next link as long as an offer may take, then tries; none by then is NO_DATA_CONNECTION.
   */
  private void awaitLink(Promise<LinkStreams.End> result, OpenRequest request, NodeLinks links, IngressOffer offer,
                             ByteBuf early, EventLoop loop) {
    long started = System.nanoTime();
    AtomicBoolean decided = new AtomicBoolean();
    Runnable[] waiter = new Runnable[1];
    ScheduledFuture<?> timer = loop.schedule(() -> {
      if (decided.compareAndSet(false, true)) {
        links.stopWaiting(waiter[0]);
        attempt(result, request, links, offer, early, null, loop, started);
      }
    }, options.getOfferTimeoutMillis(), TimeUnit.MILLISECONDS);
    waiter[0] = () -> {
      if (decided.compareAndSet(false, true)) {
        timer.cancel(false);
        loop.execute(() -> attempt(result, request, links, offer, early, null, loop, started));
      }
    };
    links.whenLinked(waiter[0]);
  }

  /** One offer on a link connection, preferably on {@code loop} (the caller's: no thread hop in the splice). */
  private void attempt(Promise<LinkStreams.End> result, OpenRequest request, NodeLinks links, IngressOffer offer,
                           ByteBuf early, Channel avoid, EventLoop loop, long startedNanos) {
    Channel connection = links.pick(avoid, loop);
    if (connection == null) {
      links.tunnels.decrementAndGet();
      refuse(result, request, OpenFailure.NO_DATA_CONNECTION, request.nodeId() + " has no live link connection"
          + (avoid == null ? "" : " but the one that just failed"));
      return;
    }
    LinkStreams.open(connection, offer.toHeaders(), early.retainedDuplicate(), options.getOfferTimeoutMillis()).addListener(done -> {
      if (done.isSuccess()) {
        OpenAnswer answer = (OpenAnswer) done.getNow();
        if (answer instanceof OpenAnswer.Accepted<?> accepted) {
          LinkStreams.End stream = (LinkStreams.End) accepted.stream();
          accepted(result, links, stream, startedNanos);
        } else {
          OpenAnswer.Refused refused = (OpenAnswer.Refused) answer;
          links.tunnels.decrementAndGet();
          metrics.offerAnswered(Integer.toString(refused.status()));
          refuse(result, request, OpenFailure.REFUSED, "node answered " + refused.status()
              + reason(IngressAnswer.reason(refused.headers())));
        }
        return;
      }
      OpenAnswer.Unanswered unanswered = (OpenAnswer.Unanswered) done.cause();
      if (unanswered.retryable() && avoid == null) {
        LOG.log(Level.DEBUG, () -> "offer to " + request.nodeId() + " on " + connection.remoteAddress() + ": "
            + unanswered.getMessage() + "; offering on another link connection");
        attempt(result, request, links, offer, early, connection, loop, startedNanos);
        return;
      }
      links.tunnels.decrementAndGet();
      if (unanswered.timedOut()) {
        metrics.offerAnswered("timeout");
        refuse(result, request, OpenFailure.OFFER_TIMEOUT, "node did not answer the offer within "
            + options.getOfferTimeoutMillis() + " ms");
      } else {
        metrics.offerAnswered("other");
        refuse(result, request, OpenFailure.NO_DATA_CONNECTION, unanswered.getMessage());
      }
    });
  }

  private void accepted(Promise<LinkStreams.End> result, NodeLinks links, LinkStreams.End stream, long startedNanos) {
    metrics.offerAnswered("200");
    metrics.tunnelSetup(System.nanoTime() - startedNanos);
    metrics.tunnelOpened();
    stream.whenClosed(() -> {
      links.tunnels.decrementAndGet();
      metrics.tunnelClosed();
    });
    if (!result.trySuccess(stream)) {
      stream.abandon();
    }
  }

  private Future<LinkStreams.End> refuse(Promise<LinkStreams.End> result, OpenRequest request, OpenFailure failure,
                                          String reason) {
    refusals.openRefused(failure);
    LOG.log(Level.INFO, "open of " + request.nodeId() + " for " + request.targetHost() + ":" + request.targetPort()
        + " refused: " + reason + "; rejecting");
    result.tryFailure(failure.exception(reason));
    return result;
  }

  private static String reason(String reason) {
    return reason.isEmpty() ? "" : " (" + reason + ")";
  }
}
