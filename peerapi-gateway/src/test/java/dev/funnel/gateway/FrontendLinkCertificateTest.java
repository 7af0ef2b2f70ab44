package dev.funnel.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Only a certificate that names a frontend opens tunnels on the link port: a node's, from the same CA, does not. */
class FrontendLinkCertificateTest {

  @TempDir
  Path state;

  private X509Certificate issued(String... names) {
    DevCa ca = DevCa.loadOrCreate(state);
    return DevCa.Pem.certificates(ca.issue(List.of(names), Duration.ofDays(1)).chainPem()).get(0);
  }

  @Test
  void aFrontendsCertificateIsAccepted() {
    assertThat(FrontendLinkServer.namesAFrontend(issued("frontend.fe-1a2b3c4d.funnel.internal"))).isTrue();
    assertThat(FrontendLinkServer.namesAFrontend(issued("other.example", "FRONTEND.fe-1.FUNNEL.INTERNAL"))).isTrue();
  }

  @Test
  void aNodesOrAGatewaysCertificateIsNot() {
    assertThat(FrontendLinkServer.namesAFrontend(issued("web.demo.funnel.localhost"))).isFalse();
    assertThat(FrontendLinkServer.namesAFrontend(issued("localhost", "127.0.0.1"))).isFalse();
    assertThat(FrontendLinkServer.namesAFrontend(issued("frontend..funnel.internal"))).isFalse();
    assertThat(FrontendLinkServer.namesAFrontend(issued("frontend.fe-1.funnel.internal.evil.example"))).isFalse();
  }
}
