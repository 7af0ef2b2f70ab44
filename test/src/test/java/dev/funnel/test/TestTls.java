package dev.funnel.test;

import dev.funnel.common.tls.DevCa;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/** TLS material for tests: server contexts from PEM, clients that trust the dev CA, raw ClientHellos. */
final class TestTls {

  private TestTls() {
  }

  static SSLContext server(String keyPem, String chainPem) throws Exception {
    List<X509Certificate> chain = DevCa.Pem.certificates(chainPem);
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry("node", DevCa.Pem.privateKey(keyPem), new char[0], chain.toArray(Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keyStore, new char[0]);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), null, null);
    return context;
  }

  static SSLContext clientTrusting(Path caPem) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", DevCa.Pem.certificates(Files.readString(caPem)).get(0));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  /** The bytes of a real TLS 1.3 ClientHello for {@code serverName}, made by the JDK's SSLEngine. */
  static byte[] clientHello(String serverName) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, null, null);
    SSLEngine engine = context.createSSLEngine(serverName, 443);
    engine.setUseClientMode(true);
    SSLParameters params = engine.getSSLParameters();
    params.setServerNames(List.of(new SNIHostName(serverName)));
    engine.setSSLParameters(params);
    ByteBuffer out = ByteBuffer.allocate(64 * 1024);
    engine.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    byte[] bytes = new byte[out.remaining()];
    out.get(bytes);
    return bytes;
  }

  /**
   * A TLS 1.3 connection from {@code client} to 127.0.0.1:{@code port} naming {@code sni} (and checking the
   * certificate against it), handshaken, reads timing out after {@code timeoutMillis}.
   */
  static SSLSocket connect(SSLContext client, int port, String sni, int timeoutMillis) throws IOException {
    SSLSocket socket = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port);
    SSLParameters params = socket.getSSLParameters();
    params.setServerNames(List.of(new SNIHostName(sni)));
    params.setEndpointIdentificationAlgorithm("HTTPS");
    params.setProtocols(new String[] {"TLSv1.3"});
    socket.setSSLParameters(params);
    socket.setSoTimeout(timeoutMillis);
    socket.startHandshake();
    return socket;
  }

  /** Exactly {@code n} bytes from {@code socket} (fewer at its end); an I/O error unchecked, for use in a supplier. */
  static byte[] readN(SSLSocket socket, int n) {
    try {
      return socket.getInputStream().readNBytes(n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
