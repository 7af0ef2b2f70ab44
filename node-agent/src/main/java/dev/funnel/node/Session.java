package dev.funnel.node;

import dev.funnel.common.bus.ProbeResult;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
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
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
 * Event loop only, apart from {@link #linkCount()} and {@link #fqdn()}.
 */
final class Session {

  private static final System.Logger LOG = System.getLogger(Session.class.getName());

  /** Heartbeats are never sent faster than this, whatever a Welcome says. */
  static final long MIN_HEARTBEAT_MILLIS = 50;
  /** The gateway is gone after this many heartbeat periods without a word. */
  static final int MISSED_HEARTBEATS = 3;

  private enum State { AWAIT_CHALLENGE, AWAIT_WELCOME, UP, ENDED }

  private final NodeAgentVerticle agent;
  private final Vertx vertx;
  private final HostPort server;
  private final NetSocket socket;
  private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
  /** Link connections up (speaking HTTP/2); their count is read by the gauges from any thread. */
  private final Set<io.netty.channel.Channel> links = ConcurrentHashMap.newKeySet();
  /** Link connections being dialled. */
  private int dialling;
  /** A link that closes sooner than this after coming up counts as a failed dial (backoff applies). */
  private static final long SHORT_LIVED_LINK_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
  /** Consecutive failed link dials (the redial waits grow with it, reset when one comes up). */
  private int linkFailures;
  private final ArrayDeque<Pending<Void>> serveUpdates = new ArrayDeque<>();
  private final ArrayDeque<Pending<String>> signRequests = new ArrayDeque<>();
  /** Probes waiting for their ProbeReply, by id (one or two at a time: the gateway runs one per session). */
  private final java.util.Map<Long, Pending<ProbeResult>> probes = new java.util.HashMap<>();
  private long nextProbeId;
  /** How long the node waits for a ProbeReply (the gateway's own bound is shorter). */
  static final long PROBE_REPLY_TIMEOUT_MILLIS = 15_000;
  /** AcmeTxt requests waiting for their AcmeTxtReply, by id. */
  private final java.util.Map<Long, Pending<Void>> acmeTxts = new java.util.HashMap<>();
  private long nextAcmeTxtId = 1;
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
  private volatile java.util.Map<Integer, String> refused = java.util.Map.of();
  private String closeReason;
  /** The session as the registry names it (from the Welcome); null/0 when the gateway did not say. */
  private String gatewayId;
  private long epoch;
  /** It ended because the gateway said Bye, or because this node closed it: nothing to report. */
  private boolean endedOnPurpose;
  /** It was up when it ended. */
  private boolean wasUp;

  private record Pending<T>(Promise<T> promise, long timer) {
  }

  Session(NodeAgentVerticle agent, HostPort server, NetSocket socket) {
    this.agent = agent;
    this.vertx = agent.vertx();
    this.server = server;
    this.socket = socket;
  }

  void begin() {
    lastHeard = System.nanoTime();
    socket.handler(this::onBytes);
    socket.exceptionHandler(err -> closeReason = NodeAgentVerticle.reason(err));
    socket.closeHandler(v -> end(closeReason != null ? "connection lost: " + closeReason
        : "the gateway closed the connection", false));
    long timeout = agent.options().getLoginTimeoutMillis();
    loginTimer = vertx.setTimer(timeout, id -> {
      loginTimer = -1;
      end("no login answer within " + timeout + " ms", false);
    });
  }

  HostPort server() {
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

  java.util.Map<Integer, String> refused() {
    return refused;
  }

  int linkCount() {
    return links.size();
  }

  boolean isUp() {
    return state == State.UP;
  }

  /** Ends the session from this side (node stopping). */
  void close(String reason) {
    endedOnPurpose = true;
    end(reason, false);
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

  /** The gateway id this session's Welcome named, or null. */
  String gatewayId() {
    return gatewayId;
  }

  /** Tells this session's gateway that another session of this node was lost (only while up). */
  void reportLost(SessionLost lost) {
    if (state == State.UP) {
      socket.write(lost.encode());
    }
  }

  Future<Void> sendServeUpdate(List<Integer> ports) {
    if (state != State.UP) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    serveUpdates.add(new Pending<>(promise, deadline(promise, "the gateway did not answer the serve update")));
    socket.write(new ServeUpdate(ports).encode());
    return promise.future();
  }

  Future<String> sendSignRequest(String csrPem) {
    if (state != State.UP) {
      return Future.failedFuture("no session is up");
    }
    Promise<String> promise = Promise.promise();
    signRequests.add(new Pending<>(promise, deadline(promise, "the gateway did not answer the sign request")));
    socket.write(new SignRequest(csrPem).encode());
    return promise.future();
  }

  /** Asks the gateway to probe this node's public path on {@code port}; fails if no reply comes in time. */
  Future<ProbeResult> sendProbe(int port, String fingerprint) {
    if (state != State.UP) {
      return Future.failedFuture("no session is up");
    }
    long id = ++nextProbeId;
    Promise<ProbeResult> promise = Promise.promise();
    long timer = vertx.setTimer(PROBE_REPLY_TIMEOUT_MILLIS, t -> {
      probes.remove(id);
      promise.tryFail("the gateway did not answer the probe within " + PROBE_REPLY_TIMEOUT_MILLIS + " ms");
    });
    probes.put(id, new Pending<>(promise, timer));
    socket.write(new ControlMessage.Probe(id, port, fingerprint).encode());
    return promise.future();
  }

  /** Sets or removes this node's dns-01 value through the gateway; fails if the gateway does not offer it. */
  Future<Void> sendAcmeTxt(String name, String value, boolean present) {
    if (state != State.UP) {
      return Future.failedFuture("no session is up");
    }
    if (!acmeTxtOffered) {
      return Future.failedFuture("the gateway " + server + " does not take ACME dns-01 requests (an older server)");
    }
    long id = nextAcmeTxtId++;
    Promise<Void> promise = Promise.promise();
    acmeTxts.put(id, new Pending<>(promise, deadline(promise, "the gateway did not answer the ACME challenge request")));
    promise.future().onComplete(done -> acmeTxts.remove(id));
    socket.write(new AcmeTxt(id, name, value, present).encode());
    return promise.future();
  }

  /** Tells the gateway when the node's certificate expires, if it is up and takes it; no answer. */
  void sendCertificateExpiry(long notAfter) {
    if (state == State.UP && certificateExpiryOffered) {
      socket.write(new ControlMessage.CertificateExpiry(notAfter).encode());
    }
  }

  private <T> long deadline(Promise<T> promise, String message) {
    long timeout = agent.options().getLoginTimeoutMillis();
    return vertx.setTimer(timeout, id -> promise.tryFail(message + " within " + timeout + " ms"));
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
      end("protocol error: " + e.getMessage(), false);
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
      socket.write(new Hello(ControlMessage.VERSION, agent.authKeyForLogin(), agent.options().getHostname(),
          agent.currentPorts(), key.publicKeyBase64(), key.prove(c.nonce()), agent.options().getDomainAliases())
          .encode());
    } else if (message instanceof Welcome w && state == State.AWAIT_WELCOME) {
      cancel(loginTimer);
      loginTimer = -1;
      state = State.UP;
      apply(w);
      agent.welcomed(this, true);
      long heartbeat = Math.max(MIN_HEARTBEAT_MILLIS, w.heartbeatMillis());
      heartbeatTimer = vertx.setPeriodic(heartbeat, id -> heartbeat(heartbeat));
      openLinks();
    } else if (message instanceof Welcome w && state == State.UP) {
      apply(w);
      agent.welcomed(this, false);
      Pending<Void> update = serveUpdates.poll();
      if (update != null) {
        cancel(update.timer());
        update.promise().tryComplete();
      }
    } else if (message instanceof Refused r) {
      end(r.code() + ": " + r.message(), true);
    } else if (message instanceof Bye b) {
      endedOnPurpose = true;
      end("the gateway said bye: " + b.reason(), false);
    } else if (message instanceof Ping p) {
      socket.write(new Pong(p.seq()).encode());
    } else if (message instanceof Pong) {
      // lastHeard is already updated: any frame proves the gateway is alive.
    } else if (message instanceof ControlMessage.ProbeReply reply && state == State.UP) {
      Pending<ProbeResult> pending = probes.remove(reply.id());
      if (pending != null) {
        cancel(pending.timer());
        pending.promise().tryComplete(reply.result());
      }
    } else if (message instanceof ControlMessage.Aliases a && state == State.UP) {
      agent.aliases().update(a.aliases());
    } else if (message instanceof AcmeTxtReply r && state == State.UP) {
      Pending<Void> pending = acmeTxts.remove(r.id());
      if (pending == null) {
        LOG.log(Level.DEBUG, "ACME challenge reply {0} from {1} answers nothing waiting; ignoring", r.id(), server);
        return;
      }
      cancel(pending.timer());
      if (r.error() == null) {
        pending.promise().tryComplete();
      } else {
        pending.promise().tryFail("the server refused the ACME challenge record: " + r.error());
      }
    } else if (message instanceof SignReply r && state == State.UP) {
      Pending<String> pending = signRequests.poll();
      if (pending == null) {
        LOG.log(Level.WARNING, "unexpected sign reply from {0}; ignoring", server);
        return;
      }
      cancel(pending.timer());
      if (r.certChainPem() != null && r.error() == null) {
        pending.promise().tryComplete(r.certChainPem());
      } else {
        pending.promise().tryFail("the server refused to sign: " + (r.error() == null ? "no reason" : r.error()));
      }
    } else {
      end("protocol error: unexpected " + message.getClass().getSimpleName() + " while "
          + state.name().toLowerCase(Locale.ROOT), false);
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
      end("no word from the gateway for " + silentMillis + " ms", false);
      return;
    }
    socket.write(new Ping(++pingSeq).encode());
  }

  /** Dials link connections until {@code links} (the node's setting) are up or being dialled. */
  private void openLinks() {
    int wanted = Math.max(1, Math.min(NodeOptions.MAX_LINKS, agent.options().getLinks()));
    while (state == State.UP && links.size() + dialling < wanted) {
      dialling++;
      LinkConnection.open(agent, agent.linkTls(), server, sessionId, dataSecret, fqdn,
          channel -> vertx.runOnContext(v -> linkUp(channel)),
          reason -> vertx.runOnContext(v -> linkDown(reason)));
    }
  }

  private void linkUp(io.netty.channel.Channel channel) {
    dialling--;
    linkFailures = 0;
    if (state != State.UP) {
      channel.close();
      return;
    }
    links.add(channel);
    long upAt = System.nanoTime();
    channel.closeFuture().addListener(f -> vertx.runOnContext(v -> {
      links.remove(channel);
      if (state != State.UP) {
        return;
      }
      if (System.nanoTime() - upAt < SHORT_LIVED_LINK_NANOS) {
        // Closed right after it came up (the gateway took it, then refused it): a failed dial, not
        // a reason to dial again at once.
        dialling++;
        linkDown("the gateway closed it right after it came up");
        return;
      }
      LOG.log(Level.INFO, "link connection to {0} closed; dialling another", server);
      openLinks();
    }));
  }

  /** A dial failed (a link that was up reports its close through {@link #linkUp}'s listener instead). */
  private void linkDown(String reason) {
    dialling--;
    if (state != State.UP) {
      return;
    }
    linkFailures++;
    long wait = Math.min(5_000, 250L << Math.min(5, linkFailures));
    LOG.log(Level.WARNING, "link connection to {0} failed: {1}; trying again in {2} ms", server, reason,
        Long.toString(wait));
    vertx.setTimer(wait, id -> openLinks());
  }

  private void end(String reason, boolean refused) {
    if (state == State.ENDED) {
      return;
    }
    wasUp = state == State.UP;
    state = State.ENDED;
    cancel(loginTimer);
    cancel(heartbeatTimer);
    socket.close();
    // Links close with the session; a tunnel still running on one ends with it (the gateway drops
    // the session's routes at once, and the node logs in again).
    for (io.netty.channel.Channel link : List.copyOf(links)) {
      link.close();
    }
    links.clear();
    for (Pending<Void> p : serveUpdates) {
      cancel(p.timer());
      p.promise().tryFail("session ended: " + reason);
    }
    serveUpdates.clear();
    for (Pending<String> p : signRequests) {
      cancel(p.timer());
      p.promise().tryFail("session ended: " + reason);
    }
    signRequests.clear();
    for (Pending<ProbeResult> p : probes.values()) {
      cancel(p.timer());
      p.promise().tryFail("session ended: " + reason);
    }
    probes.clear();
    for (Pending<Void> p : List.copyOf(acmeTxts.values())) {
      cancel(p.timer());
      p.promise().tryFail("session ended: " + reason);
    }
    acmeTxts.clear();
    agent.sessionEnded(this, reason, refused);
  }

  private void cancel(long timer) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }
}
