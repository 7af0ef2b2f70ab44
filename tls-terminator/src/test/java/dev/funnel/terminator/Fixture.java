package dev.funnel.terminator;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.tls.DevCa;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Test plumbing: the node's certificate from a development CA, a relay that puts a PROXY v2 header
 * in front of each connection (what the node agent does), and a backend that records what it got.
 */
final class Fixture {

  static final String NAME = "web.demo.funnel.localhost";
  static final String CLIENT_IP = "203.0.113.7";
  static final int CLIENT_PORT = 53211;

  final DevCa ca;
  final DevCa.KeyAndChain leaf;

  Fixture(Path stateDir) {
    this.ca = DevCa.loadOrCreate(stateDir);
    this.leaf = ca.issue(List.of(NAME), Duration.ofDays(1));
  }

  PemKeyCertOptions keyCert() {
    return keyCert(leaf);
  }

  static PemKeyCertOptions keyCert(DevCa.KeyAndChain pair) {
    return new PemKeyCertOptions().setKeyValue(Buffer.buffer(pair.keyPem())).setCertValue(Buffer.buffer(pair.chainPem()));
  }

  PemTrustOptions trust() {
    return new PemTrustOptions().addCertPath(ca.caPemPath().toString());
  }

  /** A PROXY protocol v2 header, encoded by Netty's own encoder. */
  static Buffer proxyV2(String srcIp, int srcPort, int dstPort) {
    EmbeddedChannel channel = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
    channel.writeOutbound(new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
        HAProxyProxiedProtocol.TCP4, srcIp, "127.0.0.1", srcPort, dstPort));
    ByteBuf encoded = channel.readOutbound();
    byte[] bytes = new byte[encoded.readableBytes()];
    encoded.readBytes(bytes);
    encoded.release();
    channel.finishAndReleaseAll();
    return Buffer.buffer(bytes);
  }

  /**
   * A loopback relay standing in for the node agent: per connection it dials {@code terminator},
   * writes a PROXY v2 header for {@link #CLIENT_IP}:{@link #CLIENT_PORT}, then pipes both ways.
   */
  static final class Relay {
    final NetServer server;
    final NetClient client;

    private Relay(NetServer server, NetClient client) {
      this.server = server;
      this.client = client;
    }

    static Relay start(Vertx vertx, HostPort terminator) {
      return start(vertx, SocketAddress.inetSocketAddress(terminator.port(), terminator.host()));
    }

    /** A relay to a terminator listening at {@code terminator} (TCP, or a Unix domain socket). */
    static Relay start(Vertx vertx, SocketAddress terminator) {
      NetClient client = vertx.createNetClient();
      Buffer header = proxyV2(CLIENT_IP, CLIENT_PORT, 443);
      NetServer server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
          .connectHandler(in -> {
            in.pause();
            client.connect(terminator).onComplete(ar -> {
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
          });
      await(server.listen());
      return new Relay(server, client);
    }

    SocketAddress address() {
      return SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1");
    }
  }

  /** What the backend saw of one request. */
  record Seen(String method, String uri, HttpVersion version, MultiMap headers) {
  }

  /**
   * A plain HTTP/1.1 backend. {@code /sum} answers the SHA-256 and length of the body;
   * {@code /download?bytes=N} streams N deterministic bytes ({@code /chunked?bytes=N}: the same,
   * without a length); {@code /slow} never answers;
   * {@code /hop} answers with hop-by-hop headers; anything else answers "ok". WebSockets: refused
   * with 403 on {@code /ws-refuse}, never answered on {@code /ws-slow}; elsewhere sends "hello" first, then echoes every message.
   */
  static final class Backend {
    final HttpServer server;
    final LinkedBlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

    private Backend(HttpServer server) {
      this.server = server;
    }

    static Backend start(Vertx vertx, boolean tls, PemKeyCertOptions keyCert) {
      HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(0);
      if (tls) {
        options.setSsl(true).setKeyCertOptions(keyCert);
      }
      HttpServer server = vertx.createHttpServer(options);
      Backend backend = new Backend(server);
      server.webSocketHandshakeHandler(handshake -> {
        if (handshake.path().equals("/ws-refuse")) {
          handshake.reject(403);
        } else if (handshake.path().equals("/ws-slow")) {
          // never answers
        } else {
          handshake.accept();
        }
      });
      server.webSocketHandler(ws -> {
        backend.seen.add(new Seen("WS", ws.uri(), HttpVersion.HTTP_1_1, MultiMap.caseInsensitiveMultiMap().addAll(ws.headers())));
        ws.writeTextMessage("hello");
        ws.textMessageHandler(ws::writeTextMessage);
      });
      server.requestHandler(request -> backend.handle(request));
      await(server.listen());
      return backend;
    }

    int port() {
      return server.actualPort();
    }

    private void handle(HttpServerRequest request) {
      seen.add(new Seen(request.method().name(), request.uri(), request.version(),
          MultiMap.caseInsensitiveMultiMap().addAll(request.headers())));
      HttpServerResponse response = request.response();
      switch (request.path()) {
        case "/sum" -> {
          MessageDigest digest = sha256();
          long[] length = {0};
          request.handler(chunk -> {
            digest.update(chunk.getBytes());
            length[0] += chunk.length();
          });
          request.endHandler(v -> response.putHeader("content-type", "text/plain")
              .end(HexFormat.of().formatHex(digest.digest()) + " " + length[0]));
        }
        case "/download" -> {
          int bytes = Integer.parseInt(request.getParam("bytes"));
          response.putHeader("content-length", String.valueOf(bytes));
          stream(response, pattern(bytes), 0);
        }
        case "/chunked" -> {
          int bytes = Integer.parseInt(request.getParam("bytes"));
          response.setChunked(true);
          stream(response, pattern(bytes), 0);
        }
        case "/slow" -> {
          // never answers
        }
        case "/hop" -> response.putHeader("Connection", "keep-alive, X-Hop")
            .putHeader("Keep-Alive", "timeout=5")
            .putHeader("X-Hop", "secret")
            .end("hop");
        default -> response.end("ok");
      }
    }

    private static void stream(HttpServerResponse response, Buffer data, int from) {
      int at = from;
      while (at < data.length() && !response.writeQueueFull()) {
        int end = Math.min(data.length(), at + 64 * 1024);
        response.write(data.slice(at, end));
        at = end;
      }
      if (at >= data.length()) {
        response.end();
        return;
      }
      int next = at;
      response.drainHandler(v -> stream(response, data, next));
    }
  }

  /** Deterministic bytes, the same for a given length. */
  static Buffer pattern(int length) {
    byte[] bytes = new byte[length];
    new Random(length).nextBytes(bytes);
    return Buffer.buffer(bytes);
  }

  static String sha256Hex(Buffer data) {
    return HexFormat.of().formatHex(sha256().digest(data.getBytes()));
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits on a test thread (never an event loop), bounded. */
  static <T> T await(Future<T> future) {
    try {
      return future.await(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("timed out waiting", e);
    }
  }
}
