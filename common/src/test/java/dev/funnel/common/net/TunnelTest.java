package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SSLEngineOptions;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A chain shaped like Funnel's data path: plain client → (splice) → TLS hop → (splice) → plain
 * server, the TLS hop on the JDK's engine and on OpenSSL. The server reads until EOF, then answers
 * with a different-sized reply and closes: so the reply arrives only if the client's half-close
 * travels through both splices and both kinds of socket. And the other way round: a server that
 * half-closes first still gets everything the client sends after.
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

  static Stream<Arguments> enginesAndSizes() {
    List<Arguments> cases = new ArrayList<>();
    for (String engine : List.of("jdk", "openssl")) {
      for (int size : new int[] {0, 1, 300 * 1024, 1024 * 1024}) {
        cases.add(Arguments.of(engine, size));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest
  @MethodSource("enginesAndSizes")
  void halfCloseCarriesThroughPlainAndTlsHops(String engine, int requestSize) throws Exception {
    byte[] request = random(requestSize, 1);
    byte[] reply = random(3 * 1024 * 1024 + 17, 2);
    int frontPort = startChain(reply, engine);

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

  @ParameterizedTest
  @ValueSource(strings = {"jdk", "openssl"})
  void aServerThatHalfClosesFirstStillReceivesTheRest(String engine) throws Exception {
    byte[] greeting = random(200_000, 4);
    byte[] rest = random(2 * 1024 * 1024 + 5, 5);
    java.net.ServerSocket end = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread peer = new Thread(() -> {
      try (end; Socket socket = end.accept()) {
        socket.getOutputStream().write(greeting);
        socket.getOutputStream().flush();
        socket.shutdownOutput();
        serverReceived.complete(Buffer.buffer(readAll(socket.getInputStream())));
      } catch (Exception e) {
        serverReceived.completeExceptionally(e);
      }
    }, "end-server");
    peer.setDaemon(true);
    peer.start();
    int frontPort = wire(end.getLocalPort(), engine);

    try (Socket client = new Socket("127.0.0.1", frontPort)) {
      // The server's whole greeting and its end arrive first; only then does the client send the rest.
      assertThat(readAll(client.getInputStream())).isEqualTo(greeting);
      client.getOutputStream().write(rest);
      client.getOutputStream().flush();
      client.shutdownOutput();
      assertThat(serverReceived.get(20, TimeUnit.SECONDS).getBytes()).isEqualTo(rest);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdk", "openssl"})
  void serverClosingFirstClosesTheClient(String engine) throws Exception {
    byte[] reply = random(70_000, 3);
    int frontPort = startChainServerSpeaksFirst(reply, engine);
    try (Socket client = new Socket("127.0.0.1", frontPort)) {
      byte[] got = readAll(client.getInputStream());
      assertThat(got).isEqualTo(reply);
    }
  }

  /** The end server, a plain blocking peer: reads to EOF, then writes {@code reply} and closes. */
  private int startChain(byte[] reply, String engine) throws Exception {
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
    return wire(end.getLocalPort(), engine);
  }

  private int startChainServerSpeaksFirst(byte[] reply, String engine) {
    NetServer end = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1"));
    end.connectHandler(socket -> socket.end(Buffer.buffer(reply)));
    return wire(end.listen(0, "127.0.0.1").await().actualPort(), engine);
  }

  private static SSLEngineOptions engine(String name) {
    if (name.equals("openssl")) {
      assertThat(OpenSsl.isAvailable()).as("netty-tcnative loads").isTrue();
      return new OpenSSLEngineOptions();
    }
    return new JdkSSLEngineOptions();
  }

  private int wire(int endPort, String engine) {
    DevCa ca = DevCa.loadOrCreate(state);
    DevCa.KeyAndChain cert = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    plainClient = vertx.createNetClient();
    tlsClient = vertx.createNetClient(new NetClientOptions().setSsl(true).setHostnameVerificationAlgorithm("HTTPS")
        .setSslEngineOptions(engine(engine))
        .setEnabledSecureTransportProtocols(Set.of("TLSv1.3"))
        .setTrustOptions(new PemTrustOptions().addCertPath(ca.caPemPath().toString())));

    // Middle hop: TLS server → plain connection to the end server (the node's side).
    NetServer tlsHop = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setSsl(true)
        .setSslEngineOptions(engine(engine))
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
