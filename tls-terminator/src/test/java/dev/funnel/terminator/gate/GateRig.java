package dev.funnel.terminator.gate;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A bare Vert.x Web router behind an HTTP server with PROXY protocol on (as the terminator's
 * listeners are), and per client address a relay that writes a PROXY v2 header for that address
 * (as the node agent does) and pipes; each relay has its own real HttpClient.
 */
final class GateRig {

  final Vertx vertx;
  final HttpServer server;
  private final NetClient relayClient;
  private final Map<String, NetServer> relays = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, HttpClient> clients = new java.util.concurrent.ConcurrentHashMap<>();

  GateRig(Vertx vertx, Router router) {
    this.vertx = vertx;
    this.server = await(vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)
        .setUseProxyProtocol(true)).requestHandler(router).listen());
    this.relayClient = vertx.createNetClient();
  }

  /** A client whose requests reach the router as coming from {@code ip}. */
  HttpClient from(String ip) {
    return clients.computeIfAbsent(ip, a -> {
      NetServer relay = relays.computeIfAbsent(a, this::relay);
      return vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
          .setDefaultPort(relay.actualPort()).setKeepAlive(true));
    });
  }

  private NetServer relay(String srcIp) {
    Buffer header = proxyV2(srcIp);
    SocketAddress target = SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1");
    return await(vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(in -> {
          in.pause();
          relayClient.connect(target).onComplete(ar -> {
            if (ar.failed()) {
              in.close();
              return;
            }
            var out = ar.result();
            out.write(header);
            in.closeHandler(v -> out.close());
            out.closeHandler(v -> in.close());
            in.pipeTo(out);
            out.pipeTo(in);
          });
        }).listen());
  }

  static Buffer proxyV2(String srcIp) {
    boolean v6 = srcIp.contains(":");
    EmbeddedChannel channel = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
    channel.writeOutbound(new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
        v6 ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4, srcIp, v6 ? "::1" : "127.0.0.1", 53211, 443));
    ByteBuf encoded = channel.readOutbound();
    byte[] bytes = new byte[encoded.readableBytes()];
    encoded.readBytes(bytes);
    encoded.release();
    channel.finishAndReleaseAll();
    return Buffer.buffer(bytes);
  }

  /** What a client got. */
  record Answer(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase());
    }
  }

  /** One request from {@code ip}; {@code body} null for none; {@code headers} name, value, … */
  Answer send(String ip, HttpMethod method, String uri, Buffer body, String... headers) {
    RequestOptions options = new RequestOptions().setMethod(method).setURI(uri);
    for (int i = 0; i < headers.length; i += 2) {
      options.addHeader(headers[i], headers[i + 1]);
    }
    HttpClient client = from(ip);
    return await(client.request(options).compose(req -> {
      Future<HttpClientResponse> sent = body == null ? req.send() : req.send(body);
      return sent.compose(resp -> resp.body().map(b -> {
        Map<String, String> h = new java.util.HashMap<>();
        resp.headers().forEach(e -> h.put(e.getKey().toLowerCase(), e.getValue()));
        return new Answer(resp.statusCode(), h, b.toString());
      }));
    }));
  }

  Answer get(String ip, String uri) {
    return send(ip, HttpMethod.GET, uri, null);
  }

  void close() {
    clients.values().forEach(HttpClient::close);
    relays.values().forEach(NetServer::close);
    relayClient.close();
    server.close();
  }

  static String sha256Hex(Buffer data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data.getBytes()));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static <T> T await(Future<T> future) {
    try {
      return future.await(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("timed out waiting", e);
    }
  }
}
