package dev.funnel.terminator.gate;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.lang.System.Logger.Level;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The public client's address, as the edge saw it: Vert.x takes it from the PROXY header the node
 * agent writes (from the gateway's offer). Never from a request header.
 */
public final class ClientAddress {

  private static final System.Logger LOG = System.getLogger(ClientAddress.class.getName());
  private static final AtomicBoolean WARNED_LOST_CLIENT = new AtomicBoolean();

  private ClientAddress() {
  }

  /**
   * The client's address; empty when it was lost. It is lost in Vert.x 5.0.10 when the Vertx
   * instance has HTTP-server metrics on (see {@code FunnelVertx.nodeOptions()}): the request then
   * reports the node agent's own loopback connection, which must never be taken for the client (a
   * gate must treat "empty" as "unknown": deny when an allow list is set).
   */
  public static Optional<SocketAddress> of(HttpServerRequest request) {
    SocketAddress remote = request.remoteAddress();
    if (remote == null || remote.equals(request.connection().remoteAddress(true))) {
      if (WARNED_LOST_CLIENT.compareAndSet(false, true)) {
        LOG.log(Level.WARNING, "the PROXY header's client address is not visible to HTTP requests "
            + "(Vert.x HTTP-server metrics are on; build the node's Vertx with FunnelVertx.nodeOptions()); "
            + "forwarding the client as \"unknown\"");
      }
      return Optional.empty();
    }
    String ip = remote.hostAddress();
    return ip == null || ip.isEmpty() ? Optional.empty() : Optional.of(remote);
  }

  /**
   * The client's address as an {@link java.net.InetAddress} (parsed from the literal, never
   * looked up), or {@code null} when it was lost.
   */
  public static java.net.InetAddress inet(HttpServerRequest request) {
    return of(request).map(a -> parse(a.hostAddress())).orElse(null);
  }

  /** An IP literal as an address, or {@code null} (no DNS). */
  static java.net.InetAddress parse(String literal) {
    byte[] bytes = literal == null ? null : io.netty.util.NetUtil.createByteArrayFromIpAddressString(literal);
    if (bytes == null) {
      return null;
    }
    try {
      return java.net.InetAddress.getByAddress(bytes);
    } catch (java.net.UnknownHostException e) {
      return null;
    }
  }

  /** For log lines: the address as text (IPv6 compressed), or {@code "unknown"}. */
  public static String printable(java.net.InetAddress address) {
    return address == null ? "unknown" : io.netty.util.NetUtil.toAddressString(address);
  }
}
