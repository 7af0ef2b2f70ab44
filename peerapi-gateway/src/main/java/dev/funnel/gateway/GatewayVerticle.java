package dev.funnel.gateway;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.net.DataLegTls;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LocalFrontends;
import dev.funnel.common.net.LocalStreams;
import dev.funnel.common.net.Tunnel;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Bye;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.OpenData;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Pong;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import dev.funnel.common.peerapi.ControlMessage.SignRequest;
import dev.funnel.common.peerapi.FrameReader;
import dev.funnel.common.peerapi.IngressOffer;
import dev.funnel.common.tls.DevCa;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The peerapi gateway: accepts nodes' outbound TLS connections (one control connection per node,
 * plus a pool of idle data connections), records each session with the registry and keeps its
 * lease, and on an {@link OpenRequest} writes an ingress offer on one of the node's idle data
 * connections and hands the accepted stream to the frontend ({@link LocalStreams}).
 *
 * <pre>
 * every connection:  gateway → Challenge; the first frame decides what it is:
 *   Hello     → control connection: registry login → Welcome | Refused; Ping/Pong, OpenData, ServeUpdate,
 *               SignRequest, SessionLost (passed to the registry, vouching for the node), Bye
 *   DataHello → data connection: joins its session's idle pool; silent until an offer is written on it
 *   else      → closed
 * </pre>
 *
 * Everything runs on this verticle's event loop, so its state needs no locks.
 */
public class GatewayVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(GatewayVerticle.class.getName());

  /** Renewals never run more often than this, whatever lease the registry grants. */
  private static final long MIN_RENEW_INTERVAL_MILLIS = 50;
  /** Requests to registries when the one picked cannot be reached (each such failure is immediate). */
  static final int REGISTRY_ATTEMPTS = 3;
  /** A node's session-loss reports waiting on the registry at once; more are dropped (a node has few sessions). */
  static final int MAX_LOSS_REPORTS_IN_FLIGHT = 4;

  private final GatewayOptions options;
  private final DevCa signingCa;
  private final Map<String, Session> sessionsByNode = new HashMap<>();
  private final Map<String, Session> sessionsById = new HashMap<>();
  /** Opens in progress plus accepted tunnels not yet closed, per node; tunnels may outlive their session. */
  private final Map<String, Integer> tunnelsByNode = new HashMap<>();
  private GatewayMetrics metrics;
  private GatewayRefusals refusals;
  private NetServer server;
  /** Where frontends in other processes fetch accepted streams; null when this gateway has no relay port. */
  private Relay relay;
  private boolean stopping;

  /**
   * @param signingCa the CA that signs nodes' certificate requests for their own name; null when
   *                  this gateway does not sign (nodes then bring their own certificate)
   */
  public GatewayVerticle(GatewayOptions options, DevCa signingCa) {
    this.options = options;
    this.signingCa = signingCa;
  }

  /** The port nodes connect to (useful when listening on port 0). */
  public int actualPort() {
    return server.actualPort();
  }

  /** The relay port frontends in other processes dial; -1 when there is none. */
  public int relayPort() {
    return relay == null ? -1 : relay.actualPort();
  }

  @Override
  public Future<?> start() {
    String badOption = invalidOption(options);
    if (badOption != null) {
      return Future.failedFuture(new IllegalArgumentException("gateway options: " + badOption));
    }
    metrics = GatewayMetrics.start();
    refusals = new GatewayRefusals(metrics.registry());
    MessageConsumer<OpenRequest> opens = vertx.eventBus()
        .consumer(Addresses.gatewayOpen(options.getGatewayId()), this::onOpen);
    MessageConsumer<SessionKick> kicks = vertx.eventBus().consumer(Addresses.SESSION_KICK, this::onKick);
    HostPort listen = options.getListen();
    server = vertx.createNetServer(new NetServerOptions()
            .setHost(listen.host())
            .setPort(listen.port())
            .setSsl(true)
            .setKeyCertOptions(options.getKeyCert())
            .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
            .setSslHandshakeTimeout(options.getLoginTimeoutMillis())
            .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
            .setSslEngineOptions(DataLegTls.engine())
            .setTcpNoDelay(true))
        .connectHandler(this::onConnect);
    if (options.getRelayListen() != null) {
      relay = new Relay(vertx, options.getRelayListen(), options.getRelayAdvertiseHost(), options.getHandoffMillis(),
          options.getRelayPreambleTimeoutMillis());
    }
    return Future.all(opens.completion(), kicks.completion())
        .compose(v -> relay == null ? Future.succeededFuture() : relay.listen()
            .onSuccess(r -> LOG.log(Level.INFO, "gateway " + options.getGatewayId() + " relay for other processes' frontends on "
                + options.getRelayListen().host() + ":" + r.actualPort())))
        .compose(v -> server.listen())
        .onSuccess(s -> LOG.log(Level.INFO, "gateway " + options.getGatewayId() + " listening for nodes on "
            + listen.host() + ":" + s.actualPort() + " (TLS: " + DataLegTls.describe() + ")"))
        .onFailure(err -> metrics.stop());
  }

  /** What is wrong with {@code options}, or null: every wait must be positive (timers need at least 1 ms). */
  private static String invalidOption(GatewayOptions options) {
    if (options.getKeyCert() == null) {
      return "the gateway needs a TLS certificate and key";
    }
    if (options.getPoolSize() < 0 || options.getMaxDataConnectionsPerNode() < 1 || options.getMaxTunnelsPerNode() < 1) {
      return "pool size must be >= 0, the per-node limits >= 1";
    }
    long[] waits = {options.getIdleWaitMillis(), options.getOfferTimeoutMillis(), options.getHeartbeatMillis(),
        options.getSessionTimeoutMillis(), options.getLoginTimeoutMillis(), options.getHandoffMillis(),
        options.getRegistryTimeoutMillis()};
    for (long wait : waits) {
      if (wait < 1) {
        return "every wait and timeout must be at least 1 ms";
      }
    }
    return null;
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    List<Future<?>> closing = new ArrayList<>();
    for (Session session : List.copyOf(sessionsByNode.values())) {
      session.send(new Bye("gateway stopping"));
      closing.add(endSession(session, "gateway stopping"));
    }
    if (metrics != null) {
      metrics.stop();
    }
    if (server != null) {
      closing.add(server.close());
    }
    if (relay != null) {
      closing.add(relay.close());
    }
    return Future.join(closing);
  }

  // ---------------------------------------------------------------- a new connection

  /** A new connection has the login timeout to say who it is; its first message decides what it is. */
  private void onConnect(NetSocket socket) {
    if (stopping) {
      socket.close();
      return;
    }
    String nonce = LocalStreams.newTicket();
    FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    long loginTimer = vertx.setTimer(options.getLoginTimeoutMillis(),
        id -> reject(socket, "said nothing within " + options.getLoginTimeoutMillis() + " ms"));
    socket.closeHandler(v -> vertx.cancelTimer(loginTimer));
    socket.exceptionHandler(err -> LOG.log(Level.DEBUG, () -> "connection from " + socket.remoteAddress()
        + ": " + err));
    socket.handler(chunk -> {
      List<ControlMessage> messages;
      try {
        messages = reader.feed(chunk);
      } catch (ControlMessage.InvalidMessage e) {
        vertx.cancelTimer(loginTimer);
        reject(socket, "first frame: " + e.getMessage());
        return;
      }
      if (messages.isEmpty()) {
        return;
      }
      vertx.cancelTimer(loginTimer);
      socket.pause();
      socket.handler(null);
      ControlMessage first = messages.get(0);
      List<ControlMessage> rest = messages.subList(1, messages.size());
      if (first instanceof Hello hello) {
        login(socket, reader, rest, hello, nonce);
      } else if (first instanceof DataHello dataHello) {
        joinPool(socket, reader, rest, dataHello);
      } else {
        reject(socket, "first message is " + typeOf(first) + ", not hello or data-hello");
      }
    });
    socket.write(new ControlMessage.Challenge(nonce).encode());
  }

  private void reject(NetSocket socket, String reason) {
    LOG.log(Level.INFO, "connection from " + socket.remoteAddress() + " " + reason + "; rejecting");
    socket.close();
  }

  // ---------------------------------------------------------------- control connections

  private void login(NetSocket socket, FrameReader reader, List<ControlMessage> early, Hello hello, String nonce) {
    if (hello.version() != ControlMessage.VERSION) {
      refuseLogin(socket, hello, "PROTOCOL", "protocol version " + hello.version() + " is not "
          + ControlMessage.VERSION);
      return;
    }
    boolean[] closedMeanwhile = {false};
    socket.closeHandler(v -> closedMeanwhile[0] = true);
    NodeLogin login = new NodeLogin(hello.authKey(), hello.hostname(), hello.ports(), options.getGatewayId(),
        hello.nodePublicKey(), nonce, hello.proof());
    this.<NodeSession>askRegistry(Addresses.REGISTRY_LOGIN, login)
        .onSuccess(granted -> {
          if (closedMeanwhile[0] || stopping) {
            LOG.log(Level.INFO, "node " + granted.nodeId() + " left before its session began");
            socket.close();
            notifySessionClosed(granted.nodeId(), granted.epoch());
            return;
          }
          admit(socket, reader, early, granted);
        })
        .onFailure(err -> {
          Integer code = FailureCode.of(err).orElse(-1);
          String failure = LoginFailure.fromCode(code).map(Enum::name).orElse("UNAVAILABLE");
          String message = failure.equals("UNAVAILABLE") ? "the registry is unavailable" : err.getMessage();
          refuseLogin(socket, hello, failure, message);
        });
  }

  private void refuseLogin(NetSocket socket, Hello hello, String code, String message) {
    refusals.loginRefused(code);
    LOG.log(Level.INFO, "login of " + hello.hostname() + " from " + socket.remoteAddress() + " refused: "
        + code + " (" + message + "); rejecting");
    socket.write(new Refused(code, message).encode()).onComplete(written -> socket.close());
  }

  private void admit(NetSocket socket, FrameReader reader, List<ControlMessage> early, NodeSession granted) {
    Session older = sessionsByNode.get(granted.nodeId());
    if (older != null) {
      older.send(new Bye("replaced by a newer session"));
      endSession(older, "replaced by a newer session (epoch " + granted.epoch() + ")");
    }
    Session session = new Session(LocalStreams.newTicket(), LocalStreams.newTicket(), granted, socket,
        new DataPool(vertx, metrics, granted.nodeId()));
    sessionsByNode.put(session.nodeId, session);
    sessionsById.put(session.sessionId, session);
    metrics.sessions(sessionsByNode.size());
    refusals.loggedIn();
    session.send(session.welcome(options.getGatewayId(), options.getHeartbeatMillis(), options.getPoolSize()));
    session.heartbeatTimer = vertx.setPeriodic(options.getHeartbeatMillis(), id -> heartbeat(session));
    if (session.leaseMillis > 0) {
      session.renewTimer = vertx.setPeriodic(Math.max(session.leaseMillis / 3, MIN_RENEW_INTERVAL_MILLIS),
          id -> renewLease(session));
    }
    socket.closeHandler(v -> endSession(session, "control connection closed"));
    socket.handler(chunk -> onControlBytes(session, reader, chunk));
    LOG.log(Level.INFO, "node " + session.nodeId + " (" + session.fqdn + ") from " + socket.remoteAddress()
        + " logged in, epoch " + session.epoch + ", ports " + session.ports);
    for (ControlMessage message : early) {
      if (!session.ended) {
        onControlMessage(session, message);
      }
    }
    socket.resume();
  }

  private void onControlBytes(Session session, FrameReader reader, Buffer chunk) {
    List<ControlMessage> messages;
    try {
      messages = reader.feed(chunk);
    } catch (ControlMessage.InvalidMessage e) {
      protocolViolation(session, e.getMessage());
      return;
    }
    session.lastHeardNanos = System.nanoTime();
    for (ControlMessage message : messages) {
      if (session.ended) {
        return;
      }
      onControlMessage(session, message);
    }
  }

  private void onControlMessage(Session session, ControlMessage message) {
    if (message instanceof Ping ping) {
      session.send(new Pong(ping.seq()));
    } else if (message instanceof Pong) {
      // liveness only: lastHeardNanos is already updated
    } else if (message instanceof ServeUpdate update) {
      updatePorts(session, update.ports());
    } else if (message instanceof SignRequest request) {
      sign(session, request.csrPem());
    } else if (message instanceof SessionLost lost) {
      reportLoss(session, lost);
    } else if (message instanceof Bye bye) {
      endSession(session, "node said bye (" + bye.reason() + ")");
    } else {
      protocolViolation(session, "unexpected " + typeOf(message) + " on a control connection");
    }
  }

  private void protocolViolation(Session session, String reason) {
    LOG.log(Level.INFO, "control connection of " + session.nodeId + ": " + reason + "; closing");
    session.send(new Bye("protocol error: " + reason));
    endSession(session, "protocol error");
  }

  /** Pings the node, and ends a session that has been silent for the session timeout. */
  private void heartbeat(Session session) {
    long silentMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - session.lastHeardNanos);
    if (silentMillis >= options.getSessionTimeoutMillis()) {
      session.send(new Bye("silent for " + silentMillis + " ms"));
      endSession(session, "silent for " + silentMillis + " ms");
      return;
    }
    session.requestedData = 0;
    session.send(new Ping(session.nextPingSeq++));
  }

  /** Extends the lease; a lease the registry no longer knows ends the session (the node logs in again). */
  private void renewLease(Session session) {
    if (session.renewing) {
      return;
    }
    session.renewing = true;
    askRegistry(Addresses.REGISTRY_RENEW, new LeaseRenewal(session.nodeId, options.getGatewayId(), session.epoch))
        .onComplete(renewed -> {
          session.renewing = false;
          if (renewed.succeeded() || session.ended) {
            return;
          }
          if (isLeaseUnknown(renewed.cause())) {
            leaseLost(session);
            return;
          }
          LOG.log(Level.WARNING, "renewing the lease of " + session.nodeId + " failed: "
              + renewed.cause().getMessage() + "; retrying next tick");
        });
  }

  private void leaseLost(Session session) {
    session.send(new Bye("lease lost"));
    endSession(session, "the registry lost its lease");
  }

  /** The node changed what it funnels: the registry decides, the node hears the result as a new Welcome. */
  private void updatePorts(Session session, List<Integer> ports) {
    this.<NodeSession>askRegistry(Addresses.REGISTRY_PORTS,
            new PortsUpdate(session.nodeId, options.getGatewayId(), session.epoch, ports))
        .onComplete(updated -> {
          if (session.ended) {
            return;
          }
          if (updated.succeeded()) {
            session.ports = updated.result().ports();
          } else if (isLeaseUnknown(updated.cause())) {
            leaseLost(session);
            return;
          } else {
            LOG.log(Level.INFO, "ports update of " + session.nodeId + " to " + ports + " refused: "
                + updated.cause().getMessage() + "; keeping " + session.ports);
          }
          session.send(session.welcome(options.getGatewayId(), options.getHeartbeatMillis(), options.getPoolSize()));
        });
  }

  /**
   * The node says its session with another gateway dropped: tell the registry, naming the node from
   * this authenticated session (never from the message), so the registry withdraws that route now
   * instead of when the cluster notices the other gateway is gone. The registry decides whether it
   * accepts the report; the node hears nothing back.
   */
  private void reportLoss(Session session, SessionLost lost) {
    if (session.lossReportsInFlight >= MAX_LOSS_REPORTS_IN_FLIGHT) {
      LOG.log(Level.INFO, "session-loss report of " + session.nodeId + " about " + lost.gatewayId() + ": "
          + MAX_LOSS_REPORTS_IN_FLIGHT + " already waiting on the registry; rejecting");
      return;
    }
    session.lossReportsInFlight++;
    SessionLossReport report = new SessionLossReport(session.nodeId, lost.gatewayId(), lost.epoch(),
        options.getGatewayId(), session.epoch, lost.reason());
    askRegistry(Addresses.REGISTRY_SESSION_LOST, report).onComplete(answered -> {
      session.lossReportsInFlight--;
      if (answered.succeeded()) {
        LOG.log(Level.INFO, "node " + session.nodeId + " lost its session on " + lost.gatewayId() + " (epoch "
            + lost.epoch() + ": " + lost.reason() + "); the registry withdrew that route");
      } else {
        LOG.log(Level.INFO, "node " + session.nodeId + "'s report that its session on " + lost.gatewayId()
            + " was lost: the registry did not take it (" + answered.cause().getMessage() + ")");
      }
    });
  }

  /** Signs the node's CSR, for its own name only, off the event loop; one request at a time per session. */
  private void sign(Session session, String csrPem) {
    if (signingCa == null) {
      session.send(new SignReply(null, "this gateway cannot sign certificates"));
      return;
    }
    if (session.signing) {
      session.send(new SignReply(null, "a certificate request is already being signed"));
      return;
    }
    session.signing = true;
    Set<String> ownName = Set.of(session.fqdn.toLowerCase(Locale.ROOT));
    vertx.executeBlocking(() -> signingCa.signRequest(csrPem, ownName, DevCa.LEAF_VALIDITY), false)
        .onComplete(signed -> {
          session.signing = false;
          if (session.ended) {
            return;
          }
          if (signed.succeeded()) {
            LOG.log(Level.INFO, "signed a certificate for " + session.fqdn);
            session.send(new SignReply(signed.result(), null));
            return;
          }
          String reason = signed.cause() instanceof IllegalArgumentException
              ? signed.cause().getMessage() : "the request could not be signed";
          LOG.log(Level.INFO, "certificate request of " + session.nodeId + ": " + reason + "; rejecting");
          session.send(new SignReply(null, reason));
        });
  }

  /**
   * Ends a session once: the registry hears SessionClosed, idle data connections close, waiting
   * opens fail. Tunnels already running are left to finish.
   */
  private Future<Void> endSession(Session session, String reason) {
    if (session.ended) {
      return Future.succeededFuture();
    }
    session.ended = true;
    vertx.cancelTimer(session.heartbeatTimer);
    vertx.cancelTimer(session.renewTimer);
    sessionsByNode.remove(session.nodeId, session);
    sessionsById.remove(session.sessionId, session);
    metrics.sessions(sessionsByNode.size());
    session.pool.close(reason);
    session.control.close();
    LOG.log(Level.INFO, "session of " + session.nodeId + " (epoch " + session.epoch + ") ended: " + reason);
    return notifySessionClosed(session.nodeId, session.epoch);
  }

  private Future<Void> notifySessionClosed(String nodeId, long epoch) {
    return askRegistry(Addresses.REGISTRY_SESSION_CLOSED, new SessionClosed(nodeId, options.getGatewayId(), epoch))
        .<Void>mapEmpty()
        .recover(err -> {
          LOG.log(Level.WARNING, "telling the registry that " + nodeId + " (epoch " + epoch + ") left failed: "
              + err.getMessage() + "; its lease will lapse");
          return Future.succeededFuture();
        });
  }

  private void onKick(Message<SessionKick> message) {
    SessionKick kick = message.body();
    Session session = sessionsByNode.get(kick.nodeId());
    if (session == null) {
      return;
    }
    LOG.log(Level.INFO, "kicking " + session.nodeId + ": " + kick.reason());
    session.send(new Bye(kick.reason()));
    endSession(session, "kicked (" + kick.reason() + ")");
  }

  // ---------------------------------------------------------------- data connections

  private void joinPool(NetSocket socket, FrameReader reader, List<ControlMessage> rest, DataHello hello) {
    Session session = sessionsById.get(hello.sessionId());
    if (session == null) {
      reject(socket, "presented an unknown session");
      return;
    }
    if (!session.acceptsSecret(hello.dataSecret())) {
      reject(socket, "presented a wrong data secret for " + session.nodeId);
      return;
    }
    if (!rest.isEmpty() || reader.remainder().length() > 0) {
      reject(socket, "sent bytes after its data-hello for " + session.nodeId);
      return;
    }
    if (session.dataConnections() >= options.getMaxDataConnectionsPerNode()) {
      reject(socket, "is one data connection too many for " + session.nodeId + " (limit "
          + options.getMaxDataConnectionsPerNode() + ")");
      return;
    }
    session.requestedData = Math.max(0, session.requestedData - 1);
    session.pool.add(socket);
  }

  /** Asks the node for one more data connection, unless that would break the per-node bound. */
  private void askForDataConnection(Session session) {
    if (session.ended
        || session.dataConnections() + session.requestedData >= options.getMaxDataConnectionsPerNode()) {
      return;
    }
    session.requestedData++;
    session.send(new OpenData(1));
  }

  /** After a connection is taken: keep the idle pool near its size (the node also refills on its own). */
  private void topUpPool(Session session) {
    if (session.pool.idleCount() + session.requestedData < options.getPoolSize()) {
      askForDataConnection(session);
    }
  }

  // ---------------------------------------------------------------- opens

  private void onOpen(Message<OpenRequest> message) {
    OpenRequest request = message.body();
    Session session = sessionsByNode.get(request.nodeId());
    if (session == null || session.epoch != request.epoch()) {
      refuseOpen(message, OpenFailure.NODE_GONE.exception("no session of " + request.nodeId() + " at epoch "
          + request.epoch() + " on this gateway"));
      return;
    }
    int tunnels = tunnelsByNode.getOrDefault(session.nodeId, 0);
    if (tunnels >= options.getMaxTunnelsPerNode()) {
      refuseOpen(message, OpenFailure.OVER_CAPACITY.exception(session.nodeId + " already carries " + tunnels
          + " tunnels"));
      return;
    }
    IngressOffer offer;
    try {
      offer = new IngressOffer(HostPort.parse(request.clientAddress()),
          new HostPort(request.targetHost(), request.targetPort()));
    } catch (IllegalArgumentException e) {
      refuseOpen(message, OpenFailure.REFUSED.exception("malformed open request: " + e.getMessage()));
      return;
    }
    tunnelStarted(session.nodeId);
    session.pool.take(options.getIdleWaitMillis(), () -> askForDataConnection(session))
        .onSuccess(socket -> offer(session, socket, offer, message))
        .onFailure(err -> {
          tunnelEnded(session.nodeId);
          refuseOpen(message, err);
        });
  }

  /** Writes the offer on {@code socket}; on 101 parks the stream for the frontend and replies with its ticket. */
  private void offer(Session session, NetSocket socket, IngressOffer offer, Message<OpenRequest> message) {
    session.offering++;
    topUpPool(session);
    Tunnel.prepare(socket);
    OfferExchange exchange = new OfferExchange(vertx, socket, options.getOfferTimeoutMillis());
    boolean[] accepted = {false};
    socket.closeHandler(v -> {
      tunnelEnded(session.nodeId);
      if (accepted[0]) {
        metrics.tunnelClosed();
      }
      exchange.connectionClosed();
    });
    long offeredAt = System.nanoTime();
    exchange.start(offer).onSuccess(outcome -> {
      session.offering--;
      if (outcome instanceof OfferExchange.Accepted stream) {
        metrics.offerAnswered("101");
        metrics.tunnelSetup(System.nanoTime() - offeredAt);
        accepted[0] = true;
        metrics.tunnelOpened();
        String frontendId = message.body().frontendId();
        if (relay != null && !LocalFrontends.isLocal(frontendId)) {
          message.reply(relay.park(socket, stream.pending(), frontendId));
        } else {
          String ticket = LocalStreams.park(vertx, socket, stream.pending(), options.getHandoffMillis());
          message.reply(OpenReply.local(ticket));
        }
        return;
      }
      socket.close();
      if (outcome instanceof OfferExchange.Answered answer) {
        metrics.offerAnswered(Integer.toString(answer.status()));
        refuseOpen(message, OpenFailure.REFUSED.exception("node answered " + answer.status()));
      } else if (outcome instanceof OfferExchange.TimedOut) {
        metrics.offerAnswered("timeout");
        refuseOpen(message, OpenFailure.OFFER_TIMEOUT.exception("node did not answer the offer within "
            + options.getOfferTimeoutMillis() + " ms"));
      } else {
        metrics.offerAnswered("other");
        refuseOpen(message, OpenFailure.REFUSED.exception(((OfferExchange.Broken) outcome).reason()));
      }
    });
  }

  private void refuseOpen(Message<OpenRequest> message, Throwable failure) {
    ReplyException reply = failure instanceof ReplyException re ? re
        : OpenFailure.NO_DATA_CONNECTION.exception(String.valueOf(failure.getMessage()));
    refusals.openRefused(FailureCode.of(reply).flatMap(OpenFailure::fromCode).orElse(OpenFailure.NO_DATA_CONNECTION));
    LOG.log(Level.INFO, "open of " + message.body().nodeId() + " for " + message.body().targetHost() + ":"
        + message.body().targetPort() + " refused: " + reply.getMessage() + "; rejecting");
    message.reply(reply);
  }

  private void tunnelStarted(String nodeId) {
    tunnelsByNode.merge(nodeId, 1, Integer::sum);
  }

  private void tunnelEnded(String nodeId) {
    tunnelsByNode.computeIfPresent(nodeId, (id, count) -> count <= 1 ? null : count - 1);
  }

  // ---------------------------------------------------------------- helpers

  private <T> Future<T> askRegistry(String address, Object body) {
    return askRegistry(address, body, REGISTRY_ATTEMPTS);
  }

  /**
   * One request to a registry. One that was never delivered (no registry listening, or the one the
   * event bus picked is unreachable: both fail at once) is sent again, to the next registry, up to
   * {@code attemptsLeft} in all; safe for every request, since none reached a registry. A timeout is
   * not retried (the request may have been handled).
   */
  private <T> Future<T> askRegistry(String address, Object body, int attemptsLeft) {
    DeliveryOptions delivery = new DeliveryOptions().setSendTimeout(options.getRegistryTimeoutMillis());
    return vertx.eventBus().<T>request(address, body, delivery).transform(answer -> {
      if (answer.succeeded()) {
        return Future.succeededFuture(answer.result().body());
      }
      if (attemptsLeft > 1 && answer.cause() instanceof ReplyException re
          && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.ERROR)) {
        LOG.log(Level.DEBUG, () -> "request to " + address + " not delivered (" + re.getMessage() + "); sending again");
        return askRegistry(address, body, attemptsLeft - 1);
      }
      return Future.failedFuture(answer.cause());
    });
  }

  private static boolean isLeaseUnknown(Throwable failure) {
    return FailureCode.of(failure).flatMap(LoginFailure::fromCode).orElse(null) == LoginFailure.LEASE_UNKNOWN;
  }

  private static String typeOf(ControlMessage message) {
    return message.toJson().getString("type");
  }

  // ---------------------------------------------------------------- for tests

  MeterRegistry meterRegistry() {
    return metrics.registry();
  }

  /** Idle data connections of {@code nodeId}, read on the gateway's event loop. */
  Future<Integer> idleDataConnections(String nodeId) {
    Promise<Integer> count = Promise.promise();
    context.runOnContext(v -> {
      Session session = sessionsByNode.get(nodeId);
      count.complete(session == null ? 0 : session.pool.idleCount());
    });
    return count.future();
  }
}
