package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.Tunnel;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.FrameReader;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.IngressOffer;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;

/**
 * One pooled data connection: dialled over TLS to the session's gateway, it reads the Challenge
 * (its nonce is not needed: the data secret proves the session), says DataHello, then waits for an
 * ingress offer. The offer is answered from this node's own configuration only:
 *
 * <ol>
 *   <li>not a well-formed {@code POST /v0/ingress} → 400 / 404 / 405;</li>
 *   <li>target host is not this session's name → 403;</li>
 *   <li>target port not in the current serve snapshot → 403;</li>
 *   <li>no terminator listener for a port whose target terminates TLS → 503;</li>
 *   <li>the local target does not answer → 503;</li>
 *   <li>otherwise 101, and from the next byte the connection is the public client's stream, spliced
 *       to the local target (behind a PROXY header when configured).</li>
 * </ol>
 *
 * The connection leaves the pool at the first byte of an offer, and the session opens a replacement.
 * Event loop only.
 */
final class DataConnection {

  private static final System.Logger LOG = System.getLogger(DataConnection.class.getName());

  private enum State { CONNECTING, AWAIT_CHALLENGE, IDLE, HEAD, DIALING, SPLICED, CLOSED }

  private final NodeAgentVerticle agent;
  private final Session session;
  private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
  private State state = State.CONNECTING;
  private NetSocket socket;
  private long timer = -1;
  private Buffer head;
  private Buffer afterHead;

  DataConnection(NodeAgentVerticle agent, Session session) {
    this.agent = agent;
    this.session = session;
  }

  void open() {
    agent.dialGateway(session.server(), true).onComplete(ar -> {
      if (ar.failed()) {
        boolean wanted = state == State.CONNECTING;
        state = State.CLOSED;
        session.leftPool(this, false);
        if (wanted) {
          LOG.log(Level.WARNING, "data connection to {0} failed: {1}", session.server(),
              NodeAgentVerticle.reason(ar.cause()));
        }
        return;
      }
      socket = ar.result();
      if (state != State.CONNECTING) {
        socket.close();
        return;
      }
      state = State.AWAIT_CHALLENGE;
      // Prepared at once (it may carry a tunnel), so the end of its input shows as an empty read.
      Tunnel.prepare(socket);
      socket.handler(this::onBytes);
      socket.closeHandler(v -> onClosed());
      socket.exceptionHandler(err -> LOG.log(Level.DEBUG, "data connection error: {0}", NodeAgentVerticle.reason(err)));
      long timeout = agent.options().getLoginTimeoutMillis();
      timer = agent.vertx().setTimer(timeout, id -> {
        timer = -1;
        if (state == State.AWAIT_CHALLENGE) {
          LOG.log(Level.WARNING, "data connection to {0}: no challenge within {1} ms; closing", session.server(), timeout);
          closeIdle();
        }
      });
    });
  }

  /** The session ended: a connection still in the pool is closed (one given to an offer lives on). */
  void closeIdle() {
    if (state == State.CONNECTING) {
      state = State.CLOSED;
    } else if (state == State.AWAIT_CHALLENGE || state == State.IDLE) {
      state = State.CLOSED;
      cancelTimer();
      session.leftPool(this, false);
      socket.close();
    }
  }

  private void onClosed() {
    switch (state) {
      case AWAIT_CHALLENGE, IDLE -> {
        state = State.CLOSED;
        cancelTimer();
        session.leftPool(this, false);
      }
      case HEAD, DIALING -> {
        state = State.CLOSED;
        cancelTimer();
      }
      default -> {
        // CLOSED already, or SPLICED: the tunnel owns the socket now.
      }
    }
  }

  private void onBytes(Buffer chunk) {
    if (Tunnel.isInputEnd(chunk)) {
      onInputEnd();
      return;
    }
    switch (state) {
      case AWAIT_CHALLENGE -> onChallengeBytes(chunk);
      case IDLE, HEAD -> onOfferBytes(chunk);
      case DIALING -> afterHead.appendBuffer(chunk); // Not expected: the socket is paused while dialling.
      default -> {
        // CLOSED: drop.
      }
    }
  }

  /** The gateway will send nothing more: a pooled connection is gone, a half-written offer is void. */
  private void onInputEnd() {
    switch (state) {
      case AWAIT_CHALLENGE, IDLE -> {
        LOG.log(Level.DEBUG, "data connection to {0} ended by the gateway", session.server());
        closeIdle();
      }
      case HEAD, DIALING -> {
        LOG.log(Level.INFO, "data connection to {0} ended before the offer was answered; closing", session.server());
        state = State.CLOSED;
        cancelTimer();
        socket.close();
      }
      default -> {
        // CLOSED: nothing to do.
      }
    }
  }

  private void onChallengeBytes(Buffer chunk) {
    ControlMessage first;
    try {
      first = reader.next(chunk);
    } catch (ControlMessage.InvalidMessage e) {
      LOG.log(Level.WARNING, "data connection to {0}: {1}; closing", session.server(), e.getMessage());
      closeIdle();
      return;
    }
    if (first == null) {
      return;
    }
    if (!(first instanceof Challenge)) {
      LOG.log(Level.WARNING, "data connection to {0}: expected a challenge, got {1}; closing", session.server(),
          first.getClass().getSimpleName());
      closeIdle();
      return;
    }
    cancelTimer();
    state = State.IDLE;
    session.becameIdle(this);
    socket.write(new DataHello(session.sessionId(), session.dataSecret()).encode());
    Buffer rest = reader.remainder();
    if (rest.length() > 0) {
      onOfferBytes(rest.copy());
    }
  }

  private void onOfferBytes(Buffer chunk) {
    if (state == State.IDLE) {
      // Taken: this connection will carry a tunnel (or an answer), never an offer again.
      state = State.HEAD;
      head = Buffer.buffer(256);
      session.leftPool(this, true);
      long timeout = agent.options().getLoginTimeoutMillis();
      timer = agent.vertx().setTimer(timeout, id -> {
        timer = -1;
        if (state == State.HEAD) {
          refuse(400, "offer head incomplete after " + timeout + " ms");
        }
      });
    }
    head.appendBuffer(chunk);
    IngressOffer.Parsed parsed = IngressOffer.parse(head);
    if (parsed instanceof IngressOffer.NeedMore) {
      return;
    }
    if (parsed instanceof IngressOffer.Reject reject) {
      refuse(reject.status(), reject.reason());
      return;
    }
    IngressOffer.Offer offer = (IngressOffer.Offer) parsed;
    cancelTimer();
    // Whatever the gateway sends next (bytes, or the end of its input) waits in the socket's
    // inbound queue, bounded by its high-water mark, until the splice takes it over.
    socket.pause();
    state = State.DIALING;
    afterHead = head.getBuffer(offer.consumed(), head.length());
    head = null;
    accept(offer.offer());
  }

  /** The guard ladder: each refusal logs its reason; only a configured target is ever dialled. */
  private void accept(IngressOffer offer) {
    HostPort target = offer.target();
    String fqdn = session.fqdn();
    if (fqdn == null || !target.host().equalsIgnoreCase(fqdn)) {
      refuse(403, "offer for " + printable(target.toString()) + ", but this node is " + fqdn);
      return;
    }
    ServeTarget serveTarget = agent.serveSnapshot().get(target.port());
    if (serveTarget == null) {
      refuse(403, "port " + target.port() + " is not funnelled by this node");
      return;
    }
    NodeOptions options = agent.options();
    HostPort dial;
    int proxyVersion;
    if (serveTarget.kind().terminatesTls()) {
      dial = options.getTerminatorListeners().get(target.port());
      if (dial == null) {
        refuse(503, "no tls-terminator listens for port " + target.port() + " (" + serveTarget + ")");
        return;
      }
      proxyVersion = 2;
    } else {
      dial = new HostPort(serveTarget.host(), serveTarget.port());
      proxyVersion = options.getProxyProtocol();
    }
    agent.localClient().connect(dial.port(), dial.host()).onComplete(ar -> {
      if (state != State.DIALING) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        return;
      }
      if (ar.failed()) {
        refuse(503, "cannot reach " + dial + " for port " + target.port() + ": " + NodeAgentVerticle.reason(ar.cause()));
        return;
      }
      NetSocket local = ar.result();
      Tunnel.prepare(local);
      Buffer toLocal = Buffer.buffer();
      if (proxyVersion != 0) {
        try {
          toLocal.appendBuffer(ProxyHeader.encode(proxyVersion, offer.source(), local.localAddress().hostAddress(),
              target.port()));
        } catch (IllegalArgumentException e) {
          local.close();
          refuse(400, "cannot write a PROXY header: " + e.getMessage());
          return;
        }
      }
      toLocal.appendBuffer(afterHead);
      afterHead = null;
      splice(local, toLocal, target, serveTarget);
    });
  }

  private void splice(NetSocket local, Buffer toLocal, HostPort target, ServeTarget serveTarget) {
    state = State.SPLICED;
    NodeMetrics metrics = agent.metrics();
    metrics.offer(IngressAnswer.SWITCHING_PROTOCOLS);
    LOG.log(Level.DEBUG, "offer for port {0} accepted: tunnel to {1}", target.port(), serveTarget);
    socket.write(IngressAnswer.encode(IngressAnswer.SWITCHING_PROTOCOLS));
    metrics.tunnelOpened();
    Tunnel.splice(socket, toLocal, local, Buffer.buffer()).onComplete(ar -> {
      if (ar.succeeded()) {
        metrics.tunnelClosed(ar.result().aToB(), ar.result().bToA());
      } else {
        metrics.tunnelClosed(0, 0);
      }
    });
  }

  private void refuse(int status, String reason) {
    LOG.log(Level.INFO, "ingress offer answered {0}: {1}; rejecting", status, reason);
    agent.metrics().offer(status);
    state = State.CLOSED;
    cancelTimer();
    head = null;
    afterHead = null;
    socket.write(IngressAnswer.encode(status)).onComplete(ar -> socket.close());
  }

  private void cancelTimer() {
    if (timer >= 0) {
      agent.vertx().cancelTimer(timer);
      timer = -1;
    }
  }

  /** Header values come from the network: keep log lines to printable ASCII and a sane length. */
  private static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && out.length() < 300; i++) {
      char c = s.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return out.toString();
  }
}
