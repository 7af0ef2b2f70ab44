package dev.funnel.terminator.gate;

import io.netty.util.NetUtil;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The public client's address as the edge reported it: the source of the PROXY header the node
 * agent wrote (Vert.x puts it in {@link HttpServerRequest#remoteAddress()}), never a request header.
 */
public final class ClientAddress {

  private ClientAddress() {
  }

  /**
   * The client's address, or {@code null} when it is not known: no PROXY header source, or the
   * request reports the real TCP peer (the node agent's own connection, which is what Vert.x 5.0.10
   * shows when HTTP-server metrics consumed the PROXY address; see the module README). Never
   * resolves a name.
   */
  public static InetAddress of(HttpServerRequest request) {
    SocketAddress remote = request.remoteAddress();
    if (remote == null || remote.equals(request.connection().remoteAddress(true))) {
      return null;
    }
    return parse(remote.hostAddress());
  }

  /** An IP literal as an address, or {@code null} (no DNS). */
  static InetAddress parse(String literal) {
    byte[] bytes = literal == null ? null : NetUtil.createByteArrayFromIpAddressString(literal);
    if (bytes == null) {
      return null;
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** For log lines: the address as text, or {@code "unknown"}. */
  static String printable(InetAddress address) {
    return address == null ? "unknown" : io.netty.util.NetUtil.toAddressString(address);
  }
}
