package dev.funnel.terminator;

import dev.funnel.common.net.Tunnel;
import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.lang.System.Logger.Level;

/**
 * The connection handler of a {@code tls-terminated-tcp://} port: the TLS is already ended by the
 * server; dial the target and splice the plaintext both ways through {@link Tunnel}, so back-pressure
 * and half-close are carried.
 *
 * <p>While the target is being dialled the client socket is read, not paused: bytes it sends are held
 * (up to {@link TerminatorOptions#getMaxEarlyBytes()}) and written to the target first. Pausing would
 * be simpler, but Vert.x keeps reading a paused socket into its own queue until a high-water mark, and
 * {@code Tunnel.splice} (which switches the socket to raw message delivery) never sees that queue, so
 * those bytes would be lost. Pausing and splicing in one event-loop task, with nothing queued, is safe.
 */
final class TcpForwarder implements Handler<NetSocket> {

  private static final System.Logger LOG = System.getLogger(TcpForwarder.class.getName());

  private final int publicPort;
  private final ServeTarget target;
  private final int maxEarlyBytes;
  private final TerminatorMetrics metrics;
  private final NetClient client;
  private final OutageLog outages;
  private final LogLimit refusals;

  TcpForwarder(Vertx vertx, int publicPort, ServeTarget target, TerminatorOptions options, TerminatorMetrics metrics,
               OutageLog outages, LogLimit refusals) {
    this.publicPort = publicPort;
    this.outages = outages;
    this.refusals = refusals;
    this.target = target;
    this.maxEarlyBytes = options.getMaxEarlyBytes();
    this.metrics = metrics;
    metrics.tcpPort(publicPort);
    this.client = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, options.getBackendConnectTimeoutMillis())));
  }

  NetClient client() {
    return client;
  }

  @Override
  public void handle(NetSocket front) {
    Tunnel.prepare(front);
    Pending pending = new Pending();
    front.handler(chunk -> {
      if (pending.early.length() + chunk.length() > maxEarlyBytes) {
        if (!pending.closed) {
          refusals.log(LOG, Level.INFO, "refusals", () -> "port " + publicPort + ": client sent over "
              + maxEarlyBytes + " bytes before " + target + " answered; rejecting");
          pending.closed = true;
          metrics.tcpConnection(publicPort, "early_data_overflow");
          front.close();
        }
        return;
      }
      pending.early.appendBuffer(chunk);
    });
    front.closeHandler(v -> pending.closed = true);
    client.connect(target.port(), target.host())
        .onSuccess(back -> {
          outages.answered();
          Tunnel.prepare(back);
          back.pause();
          if (pending.closed) {
            back.close();
            metrics.tcpConnection(publicPort, "client_gone");
            return;
          }
          // Same event-loop task from here to splice: nothing can be queued behind the pause.
          front.pause();
          front.handler(null);
          metrics.tcpConnection(publicPort, "spliced");
          Tunnel.splice(front, pending.early, back, Buffer.buffer())
              .onSuccess(stats -> metrics.tcpBytes(publicPort, stats.aToB(), stats.bToA()));
        })
        .onFailure(failure -> {
          outages.failed(OutageLog.reason(failure));
          metrics.tcpConnection(publicPort, "dial_failed");
          front.close();
        });
  }

  /** What arrived from the client while the target was being dialled. */
  private static final class Pending {
    final Buffer early = Buffer.buffer();
    boolean closed;
  }
}
