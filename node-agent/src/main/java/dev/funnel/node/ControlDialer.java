package dev.funnel.node;

import dev.funnel.common.net.DataLegTls;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import io.netty.util.NetUtil;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Dials a gateway for a control connection: TLS 1.3 only, the server's certificate checked against
 * the node's trust with HTTPS hostname verification (SNI = the host unless it is an IP literal),
 * connect and handshake each bounded by {@code dialTimeoutMillis}, TCP_NODELAY. (Link connections
 * are dialled by {@link LinkConnection}.)
 */
final class ControlDialer {

  private final NetClient client;

  ControlDialer(Vertx vertx, NodeOptions options) {
    this.client = vertx.createNetClient(new NetClientOptions()
        .setSsl(true)
        .setTrustOptions(options.getTrust())
        .setHostnameVerificationAlgorithm("HTTPS")
        .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
        .setConnectTimeout(clampInt(options.getDialTimeoutMillis()))
        .setSslHandshakeTimeout(options.getDialTimeoutMillis())
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
        .setSslEngineOptions(DataLegTls.engine())
        .setTcpNoDelay(true));
  }

  Future<NetSocket> dial(HostPort server) {
    ConnectOptions connect = new ConnectOptions().setHost(server.host()).setPort(server.port()).setSsl(true);
    if (!NetUtil.isValidIpV4Address(server.host()) && !NetUtil.isValidIpV6Address(server.host())) {
      connect.setSniServerName(server.host());
    }
    return client.connect(connect);
  }

  private static int clampInt(long millis) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
  }
}
