package dev.funnel.node;

import dev.funnel.common.StateFiles;
import dev.funnel.common.tls.DevCa;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.Base64;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.math.ec.ECCurve;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;

/**
 * The node's identity: an EC P-256 key kept in {@code stateDir/node-key.pem} (PKCS#8 PEM, mode
 * 0600). The gateway sees only the public half; a login proves possession by signing the
 * gateway's one-time nonce, so a recorded login cannot be replayed.
 */
final class NodeKey {

  static final String FILE = "node-key.pem";
  static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private final PrivateKey privateKey;
  private final PublicKey publicKey;

  private NodeKey(PrivateKey privateKey, PublicKey publicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** True when {@code stateDir} already holds a node key (the node has an identity to prove). Blocking. */
  static boolean exists(Path stateDir) {
    return Files.isRegularFile(stateDir.resolve(FILE));
  }

  /** Loads {@code stateDir/node-key.pem}, creating the key (and the directory) on first use. Blocking. */
  static NodeKey loadOrCreate(Path stateDir) {
    Path file = stateDir.resolve(FILE);
    try {
      if (Files.exists(file)) {
        PrivateKey key = DevCa.Pem.privateKey(Files.readString(file, StandardCharsets.US_ASCII));
        return new NodeKey(key, publicKeyOf(key));
      }
      StateFiles.createDirectory(stateDir);
      KeyPair pair = DevCa.newKeyPair();
      StateFiles.writePrivate(file, DevCa.pem(pair.getPrivate()));
      return new NodeKey(pair.getPrivate(), pair.getPublic());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load or create the node key " + file, e);
    }
  }

  /** Base64 of the public key's X.509 SubjectPublicKeyInfo, as sent in Hello. */
  String publicKeyBase64() {
    return Base64.getEncoder().encodeToString(publicKey.getEncoded());
  }

  PublicKey publicKey() {
    return publicKey;
  }

  /** Base64 of a SHA256withECDSA signature over the nonce's UTF-8 bytes. */
  String prove(String nonce) {
    try {
      Signature signature = Signature.getInstance(SIGNATURE_ALGORITHM);
      signature.initSign(privateKey);
      signature.update(nonce.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(signature.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with the node key", e);
    }
  }

  /** PKCS#8 does not always carry the public point, so compute it: Q = d·G on the key's curve. */
  private static PublicKey publicKeyOf(PrivateKey key) {
    if (!(key instanceof ECPrivateKey ec)) {
      throw new IllegalArgumentException("the node key is not an EC key");
    }
    try {
      ECCurve curve = EC5Util.convertCurve(ec.getParams().getCurve());
      org.bouncycastle.math.ec.ECPoint g = EC5Util.convertPoint(curve, ec.getParams().getGenerator());
      org.bouncycastle.math.ec.ECPoint q = new FixedPointCombMultiplier().multiply(g, ec.getS()).normalize();
      ECPoint w = new ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
      return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, ec.getParams()));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("the node key's public half cannot be derived", e);
    }
  }
}
