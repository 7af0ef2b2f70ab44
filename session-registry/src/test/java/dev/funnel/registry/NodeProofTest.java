package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

// A bound on a hang: the first test pays for the JCA providers' start, over 3 s on a starved machine.
@Timeout(30)
class NodeProofTest {

  private final TestSupport.TestNode node = new TestSupport.TestNode();

  @Test
  void derSignatureOverTheChallengeVerifies() {
    NodeProof.Result result = NodeProof.verify(node.publicKey(), "nonce-1", node.sign("nonce-1"));
    assertThat(result).isEqualTo(new NodeProof.Verified(node.publicKey()));
  }

  @Test
  void p1363SignatureVerifiesAndUrlSafeKeyIsCanonicalised() throws Exception {
    Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
    s.initSign(node.pair.getPrivate());
    s.update("nonce-2".getBytes(StandardCharsets.UTF_8));
    String proof = Base64.getUrlEncoder().withoutPadding().encodeToString(s.sign());
    String urlKey = Base64.getUrlEncoder().withoutPadding().encodeToString(node.pair.getPublic().getEncoded());
    assertThat(NodeProof.verify(urlKey, "nonce-2", proof)).isEqualTo(new NodeProof.Verified(node.publicKey()));
  }

  @Test
  void signatureOverAnotherChallengeFails() {
    assertThat(NodeProof.verify(node.publicKey(), "nonce-1", node.sign("nonce-2")))
        .isInstanceOf(NodeProof.Failed.class);
  }

  @Test
  void signatureByAnotherKeyFails() {
    TestSupport.TestNode other = new TestSupport.TestNode();
    assertThat(NodeProof.verify(node.publicKey(), "n", other.sign("n"))).isInstanceOf(NodeProof.Failed.class);
  }

  @Test
  void garbageKeyAndProofFail() throws Exception {
    assertThat(NodeProof.verify("not base64!", "n", node.sign("n"))).isInstanceOf(NodeProof.Failed.class);
    assertThat(NodeProof.verify(Base64.getEncoder().encodeToString(new byte[40]), "n", node.sign("n")))
        .isInstanceOf(NodeProof.Failed.class);
    assertThat(NodeProof.verify(node.publicKey(), "n", "%%%")).isInstanceOf(NodeProof.Failed.class);
    assertThat(NodeProof.verify(node.publicKey(), "n", Base64.getEncoder().encodeToString(new byte[70])))
        .isInstanceOf(NodeProof.Failed.class);
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    String rsaKey = Base64.getEncoder().encodeToString(rsa.generateKeyPair().getPublic().getEncoded());
    assertThat(NodeProof.verify(rsaKey, "n", node.sign("n"))).isInstanceOf(NodeProof.Failed.class);
  }
}
