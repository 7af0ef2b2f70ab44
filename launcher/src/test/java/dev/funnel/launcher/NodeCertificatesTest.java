package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.JksOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the terminator's certificate expires, as the node reports it to its gateways. */
class NodeCertificatesTest {

  @TempDir
  Path dir;

  @Test
  void theLeafsNotAfterIsReadFromAFileOrAValueAndNothingElseHasOne() throws Exception {
    DevCa ca = DevCa.loadOrCreate(dir.resolve("ca"));
    DevCa.KeyAndChain issued = ca.issue(List.of("web.demo.funnel.test"), Duration.ofDays(7));
    Instant notAfter = DevCa.Pem.certificates(issued.chainPem()).get(0).getNotAfter().toInstant();
    assertThat(notAfter).isCloseTo(Instant.now().plus(Duration.ofDays(7)), org.assertj.core.api.Assertions.within(
        1, ChronoUnit.DAYS));
    Path cert = Files.writeString(dir.resolve("cert.pem"), issued.chainPem());
    Path key = Files.writeString(dir.resolve("key.pem"), issued.keyPem());

    assertThat(NodeCertificates.notAfter(new PemKeyCertOptions().setCertPath(cert.toString())
        .setKeyPath(key.toString()))).contains(notAfter);
    assertThat(NodeCertificates.notAfter(new PemKeyCertOptions().setCertValue(Buffer.buffer(issued.chainPem()))
        .setKeyValue(Buffer.buffer(issued.keyPem())))).contains(notAfter);

    assertThat(NodeCertificates.notAfter(null)).isEmpty();
    assertThat(NodeCertificates.notAfter(new JksOptions())).isEmpty();
    assertThat(NodeCertificates.notAfter(new PemKeyCertOptions())).isEmpty();
    assertThat(NodeCertificates.notAfter(new PemKeyCertOptions().setCertPath(dir.resolve("gone.pem").toString())))
        .isEmpty();
    Path junk = Files.writeString(dir.resolve("junk.pem"), "not a certificate");
    assertThat(NodeCertificates.notAfter(new PemKeyCertOptions().setCertPath(junk.toString()))).isEmpty();
  }
}
