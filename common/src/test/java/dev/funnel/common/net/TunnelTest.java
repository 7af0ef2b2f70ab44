package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A chain shaped like Funnel's data path: plain client → (splice) → TLS hop → (splice) → plain
 * server. The server reads until EOF, then answers with a different-sized reply and closes: so the
 * reply arrives only if the client's half-close travels through both splices and both kinds of socket.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunnelTest {

  @TempDir
  Path state;

  private Vertx vertx;
  private NetClient plainClient;
  private NetClient tlsClient;
  private final CompletableFuture<Buffer> serverReceived = new CompletableFuture<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(20, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 300 * 1024, 1024 * 1024})
  void halfCloseCarriesThroughPlainAndTlsHops(int requestSize) throws Exception {
    byte[] request = random(requestSize, 1);
    byte[] reply = random(3 * 1024 * 1024 + 17, 2);
    int frontPort = startChain(reply);

    try (Socket client = new Socket("127.0.0.1", frontPort)) {
      OutputStream out = client.getOutputStream();
      out.write(request);
      out.flush();
      client.shutdownOutput();
      byte[] got = readAll(client.getInputStream());
      assertThat(got).isEqualTo(reply);
    }
    assertThat(serverReceived.get(20, TimeUnit.SECONDS).getBytes()).isEqualTo(request);
  }

  @Test
  void serverClosingFirstClosesTheClient() throws Exception {
    byte[] reply = random(70_000, 3);
    int frontPort = startChainServerSpeaksFirst(reply);
    try (Socket client = new Socket("127.0.0.1", frontPort)) {
      byte[] got = readAll(client.getInputStream());
      assertThat(got).isEqualTo(reply);
    }
  }

  /** The end server, a plain blocking peer: reads to EOF, then writes {@code reply} and closes. */
  private int startChain(byte[] reply) throws Exception {
    java.net.ServerSocket end = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread peer = new Thread(() -> {
      try (end; Socket socket = end.accept()) {
        byte[] got = readAll(socket.getInputStream());
        serverReceived.complete(Buffer.buffer(got));
        socket.getOutputStream().write(reply);
        socket.getOutputStream().flush();
      } catch (Exception e) {
        serverReceived.completeExceptionally(e);
      }
    }, "end-server");
    peer.setDaemon(true);
    peer.start();
    return wire(end.getLocalPort());
  }

  private int startChainServerSpeaksFirst(byte[] reply) {
    NetServer end = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1"));
    end.connectHandler(socket -> socket.end(Buffer.buffer(reply)));
    return wire(end.listen(0, "127.0.0.1").await().actualPort());
  }

  private int wire(int endPort) {
    DevCa ca = DevCa.loadOrCreate(state);
    DevCa.KeyAndChain cert = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    plainClient = vertx.createNetClient();
    tlsClient = vertx.createNetClient(new NetClientOptions().setSsl(true).setHostnameVerificationAlgorithm("HTTPS")
        .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.caPemPath().toString())));

    // Middle hop: TLS server → plain connection to the end server (the node's side).
    NetServer tlsHop = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setSsl(true)
        .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
        .setKeyCertOptions(new PemKeyCertOptions().setKeyValue(Buffer.buffer(cert.keyPem()))
            .setCertValue(Buffer.buffer(cert.chainPem()))));
    tlsHop.connectHandler(inbound -> splicedTo(inbound, plainClient, endPort, "127.0.0.1"));
    int tlsPort = tlsHop.listen(0, "127.0.0.1").await().actualPort();

    // Front hop: plain server → TLS connection to the middle hop (the frontend's side).
    NetServer front = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1"));
    front.connectHandler(inbound -> splicedTo(inbound, tlsClient, tlsPort, "127.0.0.1"));
    return front.listen(0, "127.0.0.1").await().actualPort();
  }

  private static void splicedTo(NetSocket inbound, NetClient client, int port, String host) {
    Tunnel.prepare(inbound);
    inbound.pause();
    Future<NetSocket> outbound = client.connect(port, host);
    outbound.onSuccess(socket -> {
      Tunnel.prepare(socket);
      Tunnel.splice(inbound, Buffer.buffer(), socket, Buffer.buffer());
    }).onFailure(err -> inbound.close());
  }

  private static byte[] random(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static byte[] readAll(InputStream in) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toByteArray();
  }
}
