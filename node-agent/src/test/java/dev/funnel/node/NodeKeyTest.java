package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeKeyTest {

  @TempDir
  Path dir;

  @Test
  void createsAPrivatePkcs8KeyOnceAndReloadsTheSameIdentity() throws Exception {
    Path state = dir.resolve("state");
    NodeKey created = NodeKey.loadOrCreate(state);
    Path file = state.resolve(NodeKey.FILE);
    assertThat(Files.readString(file)).startsWith("-----BEGIN PRIVATE KEY-----");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");

    NodeKey reloaded = NodeKey.loadOrCreate(state);
    assertThat(reloaded.publicKeyBase64()).isEqualTo(created.publicKeyBase64());
    assertThat(verify(created.publicKeyBase64(), "nonce-1", reloaded.prove("nonce-1"))).isTrue();
  }

  @Test
  void theProofCoversTheNonce() throws Exception {
    NodeKey key = NodeKey.loadOrCreate(dir);
    String proof = key.prove("nonce-a");
    assertThat(verify(key.publicKeyBase64(), "nonce-a", proof)).isTrue();
    assertThat(verify(key.publicKeyBase64(), "nonce-b", proof)).isFalse();
    NodeKey other = NodeKey.loadOrCreate(dir.resolve("other"));
    assertThat(verify(other.publicKeyBase64(), "nonce-a", proof)).isFalse();
  }

  private static boolean verify(String publicKeyBase64, String nonce, String proof) throws Exception {
    PublicKey key = KeyFactory.getInstance("EC")
        .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(publicKeyBase64)));
    Signature signature = Signature.getInstance("SHA256withECDSA");
    signature.initVerify(key);
    signature.update(nonce.getBytes(StandardCharsets.UTF_8));
    return signature.verify(Base64.getDecoder().decode(proof));
  }
}
