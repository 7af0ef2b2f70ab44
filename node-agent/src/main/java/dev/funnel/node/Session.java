package dev.funnel.node;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Pong;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxt;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxtReply;
import dev.funnel.common.peerapi.ControlMessage.SignRequest;
import dev.funnel.common.peerapi.ControlMessage.Welcome;
import dev.funnel.common.peerapi.FrameReader;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One control connection to a gateway and the link connections opened under it (HTTP/2, this node
 * the server: every stream the gateway opens on them is an ingress offer).
 *
 * <pre>
 * gateway → Challenge(nonce)
 * node    → Hello(version, authKey, hostname, ports, publicKey, proof = sign(nonce))
 * gateway → Welcome(sessionId, fqdn, dataSecret, heartbeat, links, ports) | Refused(code, message)
 * then    Ping/Pong both ways; ServeUpdate → Welcome; SignRequest → SignReply; Bye;
 *         SessionLost(gatewayId, epoch) when another of this node's sessions dropped (no answer).
 * </pre>
 *
 * This class is the login and the message dispatch; its link connections are {@link SessionLinks}',
 * the requests waiting for an answer {@link SessionReplies}'. Event loop only, apart from
 * {@link #linkCount()} and {@link #fqdn()}.
 */
final class Session implements LossReports.Witness {

  private static final System.Logger LOG = System.getLogger(Session.class.getName());

  /** Heartbeats are never sent faster than this, whatever a Welcome says. */
  static final long MIN_HEARTBEAT_MILLIS = 50;
  /** The gateway is gone after this many heartbeat periods without a word. */
  static final int MISSED_HEARTBEATS = 3;

  private enum State { AWAIT_CHALLENGE, AWAIT_WELCOME, UP, ENDED }

  private final NodeAgentVerticle agent;
  private final SessionSlots slots;
  private final Vertx vertx;
  private final HostPort server;
  private final NetSocket socket;
  private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
  private final SessionLinks links;
  private final SessionReplies replies;
  private boolean acmeTxtOffered;
  private boolean certificateExpiryOffered;

  private State state = State.AWAIT_CHALLENGE;
  private long loginTimer = -1;
  private long heartbeatTimer = -1;
  private long lastHeard;
  private long pingSeq;
  private String sessionId;
  private String dataSecret;
  private volatile String fqdn;
  private List<Integer> welcomedPorts = List.of();
  /** Ports the server said it does not route, with why (from the last Welcome). */
  private volatile Map<Integer, String> refused = Map.of();
  private String closeReason;
  /** The session as the registry names it (from the Welcome); null/0 when the gateway did not say. */
  private String gatewayId;
  private long epoch;
  /** It ended because the gateway said Bye, or because this node closed it: nothing to report. */
  private boolean endedOnPurpose;
  /** It was up when it ended. */
  private boolean wasUp;

  Session(NodeAgentVerticle agent, SessionSlots slots, HostPort server, NetSocket socket) {
    this.agent = agent;
    this.slots = slots;
    this.vertx = agent.vertx();
    this.server = server;
    this.socket = socket;
    this.links = new SessionLinks(agent, this, vertx);
    this.replies = new SessionReplies(vertx, server, agent.options().getLoginTimeoutMillis());
  }

  void begin() {
    lastHeard = System.nanoTime();
    socket.handler(this::onBytes);
    socket.exceptionHandler(err -> closeReason = NodeAgentVerticle.reason(err));
    socket.closeHandler(v -> end(closeReason != null ? "connection lost: " + closeReason
        : "the gateway closed the connection", null));
    long timeout = agent.options().getLoginTimeoutMillis();
    loginTimer = vertx.setTimer(timeout, id -> {
      loginTimer = -1;
      end("no login answer within " + timeout + " ms", null);
    });
  }

  @Override
  public HostPort server() {
    return server;
  }

  String fqdn() {
    return fqdn;
  }

  String sessionId() {
    return sessionId;
  }

  String dataSecret() {
    return dataSecret;
  }

  List<Integer> welcomedPorts() {
    return welcomedPorts;
  }

  Map<Integer, String> refused() {
    return refused;
  }

  int linkCount() {
    return links.count();
  }

  boolean isUp() {
    return state == State.UP;
  }

  /** Ends the session from this side (node stopping). */
  void close(String reason) {
    close(reason, 0);
  }

  /** Ends the session on purpose; its link connections stay open for {@code drainMillis} when that is > 0. */
  void close(String reason, long drainMillis) {
    endedOnPurpose = true;
    if (drainMillis > 0 && state != State.ENDED) {
      links.retire(drainMillis, "stopping");
    }
    end(reason, null);
  }

  /**
   * The registry's name of this session (gateway id, epoch) when it ended while up without its
   * gateway saying bye (connection closed or reset, heartbeats missed): the registry may still route
   * through that gateway and should hear it through another session. Empty otherwise, or when the
   * gateway did not name the session in its Welcome.
   */
  Optional<SessionLost> lostWithoutBye(String reason) {
    if (!wasUp || endedOnPurpose || gatewayId == null || gatewayId.isEmpty() || epoch <= 0) {
      return Optional.empty();
    }
    return Optional.of(new SessionLost(gatewayId, epoch, reason));
  }

  /** It ended on purpose: this node closed it, or its gateway said bye. */
  boolean endedOnPurpose() {
    return endedOnPurpose;
  }

  /** The gateway id this session's Welcome named, or null. */
  @Override
  public String gatewayId() {
    return gatewayId;
  }

  /** Tells this session's gateway that another session of this node was lost (only while up). */
  @Override
  public void reportLost(SessionLost lost) {
    if (state == State.UP) {
      socket.write(lost.encode());
    }
  }

  Future<Void> sendServeUpdate(List<Integer> ports) {
    if (state != State.UP) {
      return Future.succeededFuture();
    }
    Future<Void> answered = replies.serveUpdate();
    socket.write(new ServeUpdate(ports).encode());
    return answered;
  }

  Future<String> sendSignRequest(String csrPem) {
    if (state != State.UP) {
      return Future.failedFuture("no session is up");
    }
    Future<String> signed = replies.signRequest();
    socket.write(new SignRequest(csrPem).encode());
    return signed;
  }

  /** Asks the gateway to probe this node's public path on {@code port}; fails if no reply comes in time. */
  Future<ProbeResult> sendProbe(int port, String fingerprint) {
    if (state != State.UP) {
      return Future.failedFuture("no session is up");
    }
    long id = replies.nextProbeId();
    Future<ProbeResult> result = replies.probe(id);
    socket.write(new ControlMessage.Probe(id, port, fingerprint).encode());
    return result;
  }

  /** Sets or removes this node's dns-01 value through the gateway; fails if the gateway does not offer it. */
  Future<Void> sendAcmeTxt(String name, String value, boolean present) {
    if (state != State.UP) {
      return Future.failedFuture("no session is up");
    }
    if (!acmeTxtOffered) {
      return Future.failedFuture("the gateway " + server + " does not take ACME dns-01 requests (an older server)");
    }
    long id = replies.nextAcmeTxtId();
    Future<Void> answered = replies.acmeTxt(id);
    socket.write(new AcmeTxt(id, name, value, present).encode());
    return answered;
  }

  /** Tells the gateway when the node's certificate expires, if it is up and takes it; no answer. */
  void sendCertificateExpiry(long notAfter) {
    if (state == State.UP && certificateExpiryOffered) {
      socket.write(new ControlMessage.CertificateExpiry(notAfter).encode());
    }
  }

  private void onBytes(Buffer chunk) {
    if (state == State.ENDED) {
      return;
    }
    lastHeard = System.nanoTime();
    List<ControlMessage> messages;
    try {
      messages = reader.feed(chunk);
    } catch (ControlMessage.InvalidMessage e) {
      end("protocol error: " + e.getMessage(), null);
      return;
    }
    for (ControlMessage message : messages) {
      if (state == State.ENDED) {
        return;
      }
      onMessage(message);
    }
  }

  private void onMessage(ControlMessage message) {
    if (message instanceof Challenge c && state == State.AWAIT_CHALLENGE) {
      NodeKey key = agent.nodeKey();
      state = State.AWAIT_WELCOME;
      socket.write(new Hello(ControlMessage.VERSION, slots.authKeyForLogin(), agent.options().getHostname(),
          agent.serveState().ports(), key.publicKeyBase64(), key.prove(c.nonce()), agent.options().getDomainAliases())
          .encode());
    } else if (message instanceof Welcome w && state == State.AWAIT_WELCOME) {
      cancel(loginTimer);
      loginTimer = -1;
      state = State.UP;
      apply(w);
      slots.welcomed(this, true);
      long heartbeat = Math.max(MIN_HEARTBEAT_MILLIS, w.heartbeatMillis());
      heartbeatTimer = vertx.setPeriodic(heartbeat, id -> heartbeat(heartbeat));
      links.open();
    } else if (message instanceof Welcome w && state == State.UP) {
      Map<Integer, String> before = refused;
      apply(w);
      if (replies.serveUpdateWaiting()) {
        slots.welcomed(this, false);
        replies.welcomed();
      } else {
        // Not an answer: the server's routing changed (an admin changed the tailnet's policy).
        RefusalChanges.between(before, refused, fqdn).forEach(line -> LOG.log(line.level(), line.text()));
      }
    } else if (message instanceof Refused r) {
      LoginRefusal refusal = slots.judge(r);
      end(refusal.reason(), refusal);
    } else if (message instanceof Bye b) {
      endedOnPurpose = true;
      if (b.drainMillis() > 0) {
        links.retire(b.drainMillis(), "the gateway is stopping");
      }
      end("the gateway said bye: " + b.reason(), null);
    } else if (message instanceof Ping p) {
      socket.write(new Pong(p.seq()).encode());
    } else if (message instanceof Pong) {
      // lastHeard is already updated: any frame proves the gateway is alive.
    } else if (message instanceof ControlMessage.ProbeReply reply && state == State.UP) {
      replies.probed(reply);
    } else if (message instanceof ControlMessage.Aliases a && state == State.UP) {
      agent.aliases().update(a.aliases());
    } else if (message instanceof AcmeTxtReply r && state == State.UP) {
      replies.acmeTxtAnswered(r);
    } else if (message instanceof SignReply r && state == State.UP) {
      replies.signed(r);
    } else {
      end("protocol error: unexpected " + message.getClass().getSimpleName() + " while "
          + state.name().toLowerCase(Locale.ROOT), null);
    }
  }

  private void apply(Welcome w) {
    sessionId = w.sessionId();
    dataSecret = w.dataSecret();
    gatewayId = w.gatewayId();
    epoch = w.epoch();
    fqdn = w.fqdn();
    welcomedPorts = w.ports();
    refused = w.refused();
    acmeTxtOffered = w.offers(ControlMessage.FEATURE_ACME_TXT);
    certificateExpiryOffered = w.offers(ControlMessage.FEATURE_CERTIFICATE_EXPIRY);
  }

  private void heartbeat(long periodMillis) {
    if (state != State.UP) {
      return;
    }
    long silentMillis = (System.nanoTime() - lastHeard) / 1_000_000;
    if (silentMillis > MISSED_HEARTBEATS * periodMillis) {
      end("no word from the gateway for " + silentMillis + " ms", null);
      return;
    }
    socket.write(new Ping(++pingSeq).encode());
  }

  /** Ends the session; {@code refused} is the gateway's Refused, judged, or null for any other end. */
  private void end(String reason, LoginRefusal refused) {
    if (state == State.ENDED) {
      return;
    }
    wasUp = state == State.UP;
    state = State.ENDED;
    cancel(loginTimer);
    cancel(heartbeatTimer);
    socket.close();
    // Links close with the session; a tunnel still running on one ends with it (the gateway drops
    // the session's routes at once, and the node logs in again), unless a drain (the gateway's Bye,
    // or this node's stop) retired them first.
    links.closeAll();
    replies.failAll(reason);
    slots.sessionEnded(this, reason, refused);
  }

  private void cancel(long timer) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }
}
