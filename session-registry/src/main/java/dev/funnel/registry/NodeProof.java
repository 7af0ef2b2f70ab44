package dev.funnel.registry;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Checks that a node holds the private half of its node key: {@code proof} must be an ECDSA
 * (SHA-256) signature over the UTF-8 bytes of the gateway's {@code challenge}, made with the key
 * whose X.509 SubjectPublicKeyInfo is {@code publicKey}. Both are base64 (standard or URL-safe).
 * The signature may be DER (what {@code SHA256withECDSA} produces) or raw r‖s (IEEE P1363). Pure.
 */
public final class NodeProof {

  /** Longest base64 public key accepted; an EC SPKI is about 120 characters. */
  public static final int MAX_KEY_CHARS = 1024;
  /** Longest base64 signature accepted. */
  public static final int MAX_PROOF_CHARS = 512;

  private NodeProof() {
  }

  /** What a check found. */
  public sealed interface Result {
  }

  /** The proof verifies; {@code publicKey} is the key re-encoded canonically (standard base64). */
  public record Verified(String publicKey) implements Result {
  }

  /** The key or the proof is unusable; {@code reason} says which. */
  public record Failed(String reason) implements Result {
  }

  public static Result verify(String publicKey, String challenge, String proof) {
    if (publicKey.length() > MAX_KEY_CHARS || proof.length() > MAX_PROOF_CHARS) {
      return new Failed("node key or proof too long");
    }
    ECPublicKey key;
    try {
      PublicKey parsed = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(decode(publicKey)));
      if (!(parsed instanceof ECPublicKey ec)) {
        return new Failed("node key is not an EC public key");
      }
      key = ec;
    } catch (IllegalArgumentException | GeneralSecurityException e) {
      return new Failed("node key is not a base64 X.509 EC public key");
    }
    byte[] signature;
    try {
      signature = decode(proof);
    } catch (IllegalArgumentException e) {
      return new Failed("proof is not base64");
    }
    byte[] message = challenge.getBytes(StandardCharsets.UTF_8);
    int fieldBytes = (key.getParams().getCurve().getField().getFieldSize() + 7) / 8;
    boolean ok = check("SHA256withECDSA", key, message, signature)
        || (signature.length == 2 * fieldBytes && check("SHA256withECDSAinP1363Format", key, message, signature));
    if (!ok) {
      return new Failed("proof does not verify with the node key");
    }
    return new Verified(Base64.getEncoder().encodeToString(key.getEncoded()));
  }

  private static boolean check(String algorithm, PublicKey key, byte[] message, byte[] signature) {
    try {
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(key);
      verifier.update(message);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static byte[] decode(String base64) {
    String s = base64.trim();
    return s.indexOf('-') >= 0 || s.indexOf('_') >= 0
        ? Base64.getUrlDecoder().decode(s)
        : Base64.getDecoder().decode(s);
  }
}
