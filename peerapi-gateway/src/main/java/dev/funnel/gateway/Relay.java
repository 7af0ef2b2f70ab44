package dev.funnel.gateway;

import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LocalStreams;
import dev.funnel.common.net.RelayPreamble;
import dev.funnel.common.net.Tunnel;
import dev.funnel.common.ops.Meters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The gateway's relay port: where a frontend in another process fetches a node stream this gateway
 * accepted for it. The stream waits under a one-time ticket: 128 random bits, single use, bound to
 * the asking frontend's id, closed if nobody claims it within the hand-off deadline. A connection
 * must present a whole {@link RelayPreamble} within the preamble deadline, naming a waiting ticket
 * and the frontend it was issued to; anything else is answered with a refusal status and closed at
 * once. On a match the relay answers OK and splices the two sockets ({@link Tunnel}).
 *
 * <p>Plain TCP on an internal address: for cluster members only, and the ticket is the only way in.
 * Confined to the gateway verticle's event loop (it is created and listens from its start()).
 */
final class Relay {

  private static final System.Logger LOG = System.getLogger(Relay.class.getName());

  /** A node stream waiting for its frontend. */
  private record Parked(NetSocket socket, Buffer pending, String frontendId, long timer) {
  }

  private final Vertx vertx;
  private final HostPort listen;
  private final String advertiseHost;
  private final long ticketMillis;
  private final long preambleTimeoutMillis;
  private final Map<String, Parked> parked = new HashMap<>();
  /** {@code funnel_tunnel_bytes_total{role="gateway"}}: what relayed tunnels carried, counted as each ends. */
  private final Counter bytesInbound;
  private final Counter bytesOutbound;
  private NetServer server;

  Relay(Vertx vertx, HostPort listen, String advertiseHost, long ticketMillis, long preambleTimeoutMillis) {
    this.vertx = vertx;
    this.listen = listen;
    this.advertiseHost = advertiseHost != null ? advertiseHost : listen.host();
    this.ticketMillis = ticketMillis;
    this.preambleTimeoutMillis = preambleTimeoutMillis;
    MeterRegistry registry = Meters.registry();
    this.bytesInbound = Meters.tunnelBytes(registry, Meters.ROLE_GATEWAY, Meters.INBOUND);
    this.bytesOutbound = Meters.tunnelBytes(registry, Meters.ROLE_GATEWAY, Meters.OUTBOUND);
  }

  Future<NetServer> listen() {
    server = vertx.createNetServer(new NetServerOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setTcpNoDelay(true))
        .connectHandler(this::onConnect);
    return server.listen();
  }

  int actualPort() {
    return server.actualPort();
  }

  /** Parks {@code socket} (paused) for {@code frontendId}; returns the reply that tells it where to fetch it. */
  OpenReply park(NetSocket socket, Buffer pending, String frontendId) {
    String ticket = LocalStreams.newTicket();
    long timer = vertx.setTimer(ticketMillis, id -> {
      Parked unclaimed = parked.remove(ticket);
      if (unclaimed != null) {
        LOG.log(Level.INFO, "relay: a stream for frontend {0} was not fetched within {1} ms; closing it",
            frontendId, ticketMillis);
        unclaimed.socket().close();
      }
    });
    parked.put(ticket, new Parked(socket, pending, frontendId, timer));
    return new OpenReply(ticket, advertiseHost, server.actualPort());
  }

  /** Streams waiting for their frontend (tests, metrics). */
  int waiting() {
    return parked.size();
  }

  Future<Void> close() {
    for (Parked p : List.copyOf(parked.values())) {
      vertx.cancelTimer(p.timer());
      p.socket().close();
    }
    parked.clear();
    return server == null ? Future.succeededFuture() : server.close();
  }

  private void onConnect(NetSocket socket) {
    Tunnel.prepare(socket);
    Buffer received = Buffer.buffer();
    String from = String.valueOf(socket.remoteAddress());
    long deadline = vertx.setTimer(preambleTimeoutMillis, id -> {
      socket.handler(null);
      refuse(socket, RelayPreamble.Status.MALFORMED, from + " sent no whole preamble within "
          + preambleTimeoutMillis + " ms");
    });
    socket.closeHandler(v -> vertx.cancelTimer(deadline));
    socket.exceptionHandler(err -> LOG.log(Level.DEBUG, () -> "relay connection from " + from + ": " + err));
    boolean[] decided = {false};
    socket.handler(chunk -> {
      if (decided[0]) {
        return;
      }
      if (Tunnel.isInputEnd(chunk)) {
        decided[0] = true;
        vertx.cancelTimer(deadline);
        refuse(socket, RelayPreamble.Status.MALFORMED, from + " ended its input before a whole preamble");
        return;
      }
      received.appendBuffer(chunk);
      RelayPreamble.Result result = RelayPreamble.parse(received);
      if (result instanceof RelayPreamble.NeedMore && received.length() < RelayPreamble.MAX_BYTES) {
        return;
      }
      decided[0] = true;
      vertx.cancelTimer(deadline);
      socket.pause();
      socket.handler(null);
      if (!(result instanceof RelayPreamble.Parsed preamble)) {
        String why = result instanceof RelayPreamble.Invalid invalid ? invalid.reason() : "preamble too long";
        refuse(socket, RelayPreamble.Status.MALFORMED, from + ": " + why);
        return;
      }
      Parked stream = parked.remove(preamble.ticket());
      if (stream == null) {
        refuse(socket, RelayPreamble.Status.UNKNOWN_TICKET, from + " presented an unknown, used or expired ticket");
        return;
      }
      vertx.cancelTimer(stream.timer());
      if (!stream.frontendId().equals(preamble.frontendId())) {
        // A valid ticket from the wrong frontend: someone saw a ticket they should not have. Burn it.
        stream.socket().close();
        refuse(socket, RelayPreamble.Status.WRONG_FRONTEND, from + " presented a ticket issued to another frontend");
        return;
      }
      Buffer early = received.getBuffer(preamble.length(), received.length());
      Buffer toFrontend = Buffer.buffer().appendByte((byte) RelayPreamble.Status.OK.code).appendBuffer(stream.pending());
      Tunnel.splice(socket, early, stream.socket(), toFrontend).onSuccess(stats -> {
        bytesInbound.increment(stats.aToB());
        bytesOutbound.increment(Math.max(0, stats.bToA() - 1));   // less the relay's own status byte
      });
    });
  }

  private void refuse(NetSocket socket, RelayPreamble.Status status, String reason) {
    LOG.log(Level.INFO, "relay: " + reason + "; rejecting");
    socket.write(Buffer.buffer().appendByte((byte) status.code)).onComplete(written -> socket.close());
  }
}
