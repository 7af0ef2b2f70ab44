package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.tls.DevCa;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's check of {@code --ca} against a real TLS server (the JDK's, an independent
 * implementation of the other side) whose certificate one dev CA signed.
 */
class GatewayProbeTest {

  @TempDir
  Path dir;

  private SSLServerSocket server;
  private Thread acceptor;
  private DevCa gatewayCa;
  private final java.util.concurrent.atomic.AtomicInteger handshakes = new java.util.concurrent.atomic.AtomicInteger();

  @BeforeEach
  void startGateway() throws Exception {
    gatewayCa = DevCa.loadOrCreate(dir.resolve("gateway-ca"));
    DevCa.KeyAndChain issued = gatewayCa.issue(List.of("localhost"), Duration.ofDays(1));
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    List<java.security.cert.X509Certificate> chain = DevCa.Pem.certificates(issued.chainPem());
    keys.setKeyEntry("gateway", DevCa.Pem.privateKey(issued.keyPem()), new char[0], chain.toArray(Certificate[]::new));
    KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(keys, new char[0]);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(factory.getKeyManagers(), null, null);
    server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 16, InetAddress.getLoopbackAddress());
    acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try (SSLSocket s = (SSLSocket) server.accept()) {
          s.setSoTimeout(5000);
          s.startHandshake();
          handshakes.incrementAndGet();
          s.getInputStream().read();   // until the probe closes
        } catch (IOException ignored) {
          // a refused handshake, or the probe's close
        }
      }
    }, "gateway");
    acceptor.start();
  }

  @AfterEach
  void stopGateway() throws Exception {
    server.close();
    acceptor.join(10_000);
  }

  private HostPort gateway() {
    return new HostPort("127.0.0.1", server.getLocalPort());
  }

  @Test
  void theCaThatSignedTheGatewayPasses() throws Exception {
    GatewayProbe.check(List.of(gateway()), gatewayCa.caPemPath());
    // The server's side ends when the probe's Finished arrives, a moment after the probe's own (on
    // a starved machine, some seconds: the bound only stops a hang).
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (handshakes.get() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(handshakes.get()).as("a whole handshake with the gateway").isEqualTo(1);
  }

  @Test
  void anotherCaStopsTheNodeWithOneLineNamingTheFlag() {
    Path other = DevCa.loadOrCreate(dir.resolve("other-ca")).caPemPath();
    assertThatThrownBy(() -> GatewayProbe.check(List.of(gateway()), other))
        .isInstanceOf(Processes.Failure.class)
        .hasMessage("--ca " + other + ": the gateway's certificate at " + gateway() + " is not signed by --ca " + other
            + "; pass the ca.pem of the server this gateway belongs to")
        .satisfies(e -> assertThat(((Processes.Failure) e).exitCode).isEqualTo(1));
  }

  @Test
  void aGatewayNotListeningIsLeftToTheNodesRetries() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    Path other = DevCa.loadOrCreate(dir.resolve("other-ca")).caPemPath();
    GatewayProbe.check(List.of(new HostPort("127.0.0.1", closed)), other);
  }

  @Test
  void aCaFileThatIsNoCertificateSaysSo() throws Exception {
    Path junk = dir.resolve("junk.pem");
    java.nio.file.Files.writeString(junk, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> GatewayProbe.check(List.of(gateway()), junk))
        .isInstanceOf(Processes.Failure.class)
        .hasMessageStartingWith("--ca " + junk + ": ")
        .satisfies(e -> assertThat(((Processes.Failure) e).exitCode).isEqualTo(2));
  }
}
