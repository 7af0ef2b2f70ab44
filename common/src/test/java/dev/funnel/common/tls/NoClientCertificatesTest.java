package dev.funnel.common.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server without client authentication trusts no certificate at all, not the JDK's default CAs. */
class NoClientCertificatesTest {

  @TempDir
  Path dir;

  @Test
  void trustsNoOneAndNamesNoIssuer() {
    DevCa ca = DevCa.loadOrCreate(dir);
    X509Certificate[] chain = DevCa.Pem.certificates(ca.issue(List.of("client.example"), Duration.ofDays(1)).chainPem())
        .toArray(X509Certificate[]::new);
    assertThatThrownBy(() -> NoClientCertificates.INSTANCE.checkClientTrusted(chain, "ECDHE_ECDSA"))
        .isInstanceOf(CertificateException.class);
    assertThatThrownBy(() -> NoClientCertificates.INSTANCE.checkClientTrusted(chain, "ECDHE_ECDSA", (javax.net.ssl.SSLEngine) null))
        .isInstanceOf(CertificateException.class);
    assertThatThrownBy(() -> NoClientCertificates.INSTANCE.checkServerTrusted(chain, "ECDHE_ECDSA"))
        .isInstanceOf(CertificateException.class);
    assertThat(NoClientCertificates.INSTANCE.getAcceptedIssuers()).isEmpty();
  }
}
