package dev.funnel.node.acme;

import dev.funnel.common.StateFiles;
import dev.funnel.common.tls.DevCa;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import org.shredzone.acme4j.util.KeyPairUtils;

/**
 * The ACME files in the node's state directory, each written through a temporary file and a rename,
 * mode 0600 from the start (the private keys never leave the node; the certificate is kept as
 * private as its key, so {@code funnel cert} is the one way out):
 *
 * <ul>
 *   <li>{@value #ACCOUNT_KEY}: the ACME account key (EC P-256), made on the first order;</li>
 *   <li>{@value #KEY}: the domain key of the current certificate (PKCS#8), new for every order;</li>
 *   <li>{@value #CERT}: the current certificate chain (PEM, leaf first), written after its key.</li>
 * </ul>
 */
public final class AcmeFiles {

  public static final String ACCOUNT_KEY = "acme-account-key.pem";
  public static final String KEY = "acme-key.pem";
  public static final String CERT = "acme-cert.pem";

  private final Path dir;

  public AcmeFiles(Path dir) {
    this.dir = dir;
  }

  public Path key() {
    return dir.resolve(KEY);
  }

  public Path cert() {
    return dir.resolve(CERT);
  }

  /** The account key, made (and saved) on first use. Blocking. */
  KeyPair accountKey() {
    Path file = dir.resolve(ACCOUNT_KEY);
    try {
      if (Files.exists(file)) {
        return KeyPairUtils.readKeyPair(new StringReader(Files.readString(file, StandardCharsets.US_ASCII)));
      }
      KeyPair pair = KeyPairUtils.createECKeyPair("secp256r1");
      StringWriter pem = new StringWriter();
      KeyPairUtils.writeKeyPair(pair, pem);
      StateFiles.writePrivate(file, pem.toString());
      return pair;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write the ACME account key " + file, e);
    }
  }

  /** Saves a new certificate: its key first, then the chain (so a chain on disk always has its key). Blocking. */
  void save(KeyPair domainKey, String chainPem) {
    StateFiles.writePrivate(key(), DevCa.pem(domainKey.getPrivate()));
    StateFiles.writePrivate(cert(), chainPem);
  }

  /** The saved chain (leaf first), if there is one that parses. Blocking. */
  public Optional<List<X509Certificate>> chain() {
    Path file = cert();
    if (!Files.isReadable(file) || !Files.isReadable(key())) {
      return Optional.empty();
    }
    try {
      List<X509Certificate> chain = DevCa.Pem.certificates(Files.readString(file, StandardCharsets.US_ASCII));
      return chain.isEmpty() ? Optional.empty() : Optional.of(chain);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
