package dev.funnel.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevCaTest {

  @TempDir
  Path dir;

  private DevCa ca;

  @BeforeEach
  void setUp() {
    ca = DevCa.loadOrCreate(dir);
  }

  @Test
  void keepsTheCaInTheStateDirectoryWithAPrivateKeyFile() throws Exception {
    assertThat(ca.caPemPath()).isEqualTo(dir.resolve(DevCa.CA_FILE));
    assertThat(Files.readString(ca.caPemPath())).startsWith("-----BEGIN CERTIFICATE-----");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(DevCa.CA_KEY_FILE))))
        .isEqualTo("rw-------");
    assertThat(ca.certificate().getBasicConstraints()).isGreaterThanOrEqualTo(0);
  }

  @Test
  void aSecondLoadFindsTheSameCa() {
    DevCa again = DevCa.loadOrCreate(dir);
    assertThat(again.certificate()).isEqualTo(ca.certificate());
  }

  @Test
  void issuesACertificateThatVerifiesAgainstTheCa() throws Exception {
    DevCa.KeyAndChain issued = ca.issue(List.of("localhost", "127.0.0.1", "::1"), Duration.ofDays(1));
    assertThat(issued.keyPem()).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(DevCa.Pem.privateKey(issued.keyPem())).isNotNull();
    List<X509Certificate> chain = DevCa.Pem.certificates(issued.chainPem());
    assertThat(chain).hasSize(2);
    X509Certificate leaf = chain.get(0);
    leaf.verify(ca.certificate().getPublicKey());
    assertThat(chain.get(1)).isEqualTo(ca.certificate());
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(sans(leaf)).containsExactlyInAnyOrder("localhost", "127.0.0.1", "0:0:0:0:0:0:0:1");
    validatePath(leaf);
    // And a TLS client that trusts only ca.pem accepts it for a server.
    trustManagerTrustingOnly(ca.certificate()).checkServerTrusted(new X509Certificate[] {leaf}, "ECDHE_ECDSA");
  }

  @Test
  void aCertificateFromAnotherCaDoesNotVerify() {
    DevCa other = DevCa.loadOrCreate(dir.resolve("other"));
    X509Certificate foreign = DevCa.Pem.certificates(other.issue(List.of("localhost"), Duration.ofDays(1)).chainPem())
        .get(0);
    assertThatThrownBy(() -> foreign.verify(ca.certificate().getPublicKey())).isInstanceOf(Exception.class);
    assertThatThrownBy(() -> trustManagerTrustingOnly(ca.certificate())
        .checkServerTrusted(new X509Certificate[] {foreign}, "ECDHE_ECDSA")).isInstanceOf(Exception.class);
  }

  @Test
  void signsARequestForAnAllowedName() throws Exception {
    KeyPair pair = DevCa.newKeyPair();
    String csr = DevCa.newRequest(pair, List.of("web.demo.funnel.example"));
    String chainPem = ca.signRequest(csr, Set.of("web.demo.funnel.example"), Duration.ofDays(1));
    List<X509Certificate> chain = DevCa.Pem.certificates(chainPem);
    assertThat(chain).hasSize(2);
    chain.get(0).verify(ca.certificate().getPublicKey());
    assertThat(chain.get(0).getPublicKey()).isEqualTo(pair.getPublic());
    assertThat(sans(chain.get(0))).containsExactly("web.demo.funnel.example");
  }

  @Test
  void matchesRequestedNamesCaseInsensitively() {
    String csr = DevCa.newRequest(DevCa.newKeyPair(), List.of("WEB.demo.funnel.example"));
    assertThat(ca.signRequest(csr, Set.of("web.demo.funnel.example"), Duration.ofDays(1))).contains("BEGIN CERTIFICATE");
  }

  @Test
  void refusesARequestForANameNotAllowed() {
    String csr = DevCa.newRequest(DevCa.newKeyPair(), List.of("web.demo.funnel.example", "bank.example"));
    assertThatThrownBy(() -> ca.signRequest(csr, Set.of("web.demo.funnel.example"), Duration.ofDays(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bank.example");
  }

  @Test
  void refusesARequestForAnIpAddress() {
    String csr = DevCa.newRequest(DevCa.newKeyPair(), List.of("127.0.0.1"));
    assertThatThrownBy(() -> ca.signRequest(csr, Set.of("127.0.0.1"), Duration.ofDays(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a DNS name");
  }

  @Test
  void refusesSomethingThatIsNotARequest() {
    assertThatThrownBy(() -> ca.signRequest(Files.readString(ca.caPemPath()), Set.of("x"), Duration.ofDays(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ca.signRequest("garbage", Set.of("x"), Duration.ofDays(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private void validatePath(X509Certificate leaf) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca.certificate(), null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
  }

  private static X509TrustManager trustManagerTrustingOnly(X509Certificate caCert) throws Exception {
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setCertificateEntry("ca", caCert);
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    SSLContext.getInstance("TLS");
    return (X509TrustManager) factory.getTrustManagers()[0];
  }

  private static List<String> sans(X509Certificate cert) throws Exception {
    List<String> out = new ArrayList<>();
    Collection<List<?>> names = cert.getSubjectAlternativeNames();
    for (List<?> name : names) {
      out.add(String.valueOf(name.get(1)));
    }
    return out;
  }
}
