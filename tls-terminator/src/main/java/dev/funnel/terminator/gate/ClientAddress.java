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
}
