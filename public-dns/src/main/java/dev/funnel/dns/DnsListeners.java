package dev.funnel.dns;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.datagram.DatagramPacket;
import io.vertx.core.datagram.DatagramSocket;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.Address;

/**
 * The UDP socket and the TCP server on one port (RFC 1035, RFC 7766), handing each query's bytes to
 * {@link QueryAnswerer} and sending what it returns. TCP carries 2-byte length-prefixed messages with
 * a bounded buffer, a bound on queries waiting per connection, a connection cap and an idle timeout;
 * no answer (malformed) closes the connection. Used on the verticle's event loop only.
 */
final class DnsListeners {

  private static final Logger LOG = System.getLogger(DnsVerticle.class.getName());
  /** Tries to find an ephemeral port free for both UDP and TCP (listen on port 0). */
  static final int EPHEMERAL_TRIES = 8;

  private final Vertx vertx;
  private final DnsOptions options;
  private final QueryAnswerer answerer;
  private DatagramSocket udp;
  private NetServer tcp;
  private int tcpOpen;
  private int port = -1;

  DnsListeners(Vertx vertx, DnsOptions options, QueryAnswerer answerer) {
    this.vertx = vertx;
    this.options = options;
    this.answerer = answerer;
  }

  /** Listens on the options' host and port (0: an ephemeral port free for both, {@link #EPHEMERAL_TRIES} tries). */
  Future<Void> listen() {
    return bind(options.getPort(), options.getPort() == 0 ? EPHEMERAL_TRIES : 1);
  }

  /** The port UDP and TCP are bound to (after {@link #listen}; -1 before). */
  int port() {
    return port;
  }

  Future<?> close() {
    List<Future<?>> closing = new ArrayList<>();
    if (udp != null) {
      closing.add(udp.close());
    }
    if (tcp != null) {
      closing.add(tcp.close());
    }
    return Future.join(closing);
  }

  /** UDP first, then TCP on the same port; with port 0, another ephemeral port when TCP's is taken. */
  private Future<Void> bind(int wanted, int triesLeft) {
    DatagramSocketOptions udpOptions = new DatagramSocketOptions().setIpV6(options.getHost().contains(":"));
    DatagramSocket socket = vertx.createDatagramSocket(udpOptions);
    socket.handler(this::onPacket);
    return socket.listen(wanted, options.getHost()).compose(bound -> {
      int p = bound.localAddress().port();
      NetServer server = vertx.createNetServer(new NetServerOptions()
          .setIdleTimeout((int) options.getTcpIdleMillis())
          .setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
      server.connectHandler(this::onTcp);
      return server.listen(p, options.getHost()).<Void>map(s -> {
        udp = bound;
        tcp = s;
        port = p;
        return null;
      }).recover(err -> {
        Future<Void> closed = bound.close();
        if (wanted == 0 && triesLeft > 1) {
          return closed.transform(x -> bind(0, triesLeft - 1));
        }
        return closed.transform(x -> Future.failedFuture(err));
      });
    });
  }

  private void onPacket(DatagramPacket packet) {
    SocketAddress sender = packet.sender();
    InetAddress source = address(sender);
    answerer.answer(packet.data().getBytes(), DnsMetrics.UDP, source).onSuccess(wire -> {
      if (wire != null) {
        udp.send(Buffer.buffer(wire), sender.port(), sender.host());
      }
    });
  }

  private void onTcp(NetSocket socket) {
    if (tcpOpen >= options.getTcpMaxConnections()) {
      LOG.log(Level.DEBUG, "dns tcp from {0}: {1} connections open; closing", socket.remoteAddress(), tcpOpen);
      socket.close();
      return;
    }
    tcpOpen++;
    socket.closeHandler(v -> tcpOpen--);
    InetAddress source = address(socket.remoteAddress());
    Buffer[] pending = {Buffer.buffer()};
    int[] waiting = {0};
    socket.handler(chunk -> {
      Buffer buffer = pending[0].appendBuffer(chunk);
      if (buffer.length() > options.getTcpMaxBuffer()) {
        LOG.log(Level.DEBUG, "dns tcp from {0}: more than {1} bytes buffered; closing", socket.remoteAddress(),
            options.getTcpMaxBuffer());
        socket.close();
        return;
      }
      int at = 0;
      while (buffer.length() - at >= 2) {
        int length = buffer.getUnsignedShort(at);
        if (buffer.length() - at - 2 < length) {
          break;
        }
        byte[] message = buffer.getBytes(at + 2, at + 2 + length);
        at += 2 + length;
        if (waiting[0] >= options.getTcpMaxPending()) {
          LOG.log(Level.DEBUG, "dns tcp from {0}: {1} queries waiting; closing", socket.remoteAddress(), waiting[0]);
          socket.close();
          return;
        }
        waiting[0]++;
        answerer.answer(message, DnsMetrics.TCP, source).onComplete(ar -> {
          waiting[0]--;
          byte[] wire = ar.succeeded() ? ar.result() : null;
          if (wire == null) {
            socket.close();
            return;
          }
          socket.write(Buffer.buffer(wire.length + 2).appendUnsignedShort(wire.length).appendBytes(wire));
          if (socket.writeQueueFull()) {
            socket.pause();
            socket.drainHandler(v -> socket.resume());
          }
        });
      }
      pending[0] = at == 0 ? buffer : buffer.getBuffer(at, buffer.length());
    });
  }

  private static InetAddress address(SocketAddress address) {
    if (address == null || address.host() == null) {
      return null;
    }
    try {
      return Address.getByAddress(address.host());
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
