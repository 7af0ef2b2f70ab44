package dev.funnel.common.tls;

import dev.funnel.common.StateFiles;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.pkcs.PKCSException;

/**
 * The development CA kept in the state directory ({@code ca.pem}, {@code ca-key.pem} mode 0600).
 * It signs the gateway's certificate and, on request, node certificates for names a node owns.
 * Processes sharing a state directory share the CA; creation is guarded by a file lock.
 */
public final class DevCa {

  public static final String CA_FILE = "ca.pem";
  public static final String CA_KEY_FILE = "ca-key.pem";
  private static final Duration CA_VALIDITY = Duration.ofDays(3650);
  public static final Duration LEAF_VALIDITY = Duration.ofDays(90);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final X509Certificate certificate;
  private final PrivateKey key;
  private final Path caPem;

  private DevCa(X509Certificate certificate, PrivateKey key, Path caPem) {
    this.certificate = certificate;
    this.key = key;
    this.caPem = caPem;
  }

  /** Loads the CA in {@code stateDir}, creating it (and the directory) on first use. Blocking. */
  public static DevCa loadOrCreate(Path stateDir) {
    try {
      dev.funnel.common.StateFiles.createDirectory(stateDir);
      Path caPem = stateDir.resolve(CA_FILE);
      Path caKey = stateDir.resolve(CA_KEY_FILE);
      try (FileChannel lockFile = FileChannel.open(stateDir.resolve(".ca.lock"), StandardOpenOption.CREATE,
          StandardOpenOption.WRITE); FileLock ignored = lockFile.lock()) {
        if (!Files.exists(caPem) || !Files.exists(caKey)) {
          KeyPair pair = newKeyPair();
          X509Certificate cert = selfSign(pair);
          StateFiles.writePrivate(caKey, pem(pair.getPrivate()));
          StateFiles.writePublic(caPem, pem(cert));
        }
        return new DevCa(Pem.certificates(Files.readString(caPem)).get(0), Pem.privateKey(Files.readString(caKey)), caPem);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the development CA in " + stateDir, e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** Path of {@code ca.pem}: what nodes and test clients trust. */
  public Path caPemPath() {
    return caPem;
  }

  /** A fresh key and a certificate for {@code names} (DNS names or IP literals), signed by this CA. */
  public KeyAndChain issue(List<String> names, Duration validity) {
    KeyPair pair = newKeyPair();
    X509Certificate leaf = sign(pair.getPublic(), names, validity);
    return new KeyAndChain(pem(pair.getPrivate()), pem(leaf) + pem(certificate));
  }

  /**
   * Signs a PKCS#10 request for exactly the names in it, refusing any name not in {@code allowed}.
   * Returns the chain (leaf then CA) in PEM.
   */
  public String signRequest(String csrPem, Set<String> allowed, Duration validity) {
    PKCS10CertificationRequest csr = Pem.csr(csrPem);
    try {
      // The JDK finds no KeyFactory by the EC key's OID; JcaPKCS10CertificationRequest maps it to "EC".
      PublicKey requestKey = new JcaPKCS10CertificationRequest(csr).getPublicKey();
      if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(requestKey))) {
        throw new IllegalArgumentException("CSR signature does not verify");
      }
    } catch (OperatorCreationException | PKCSException | GeneralSecurityException e) {
      throw new IllegalArgumentException("CSR signature cannot be checked", e);
    }
    List<String> names = csrDnsNames(csr);
    if (names.isEmpty()) {
      throw new IllegalArgumentException("CSR names no DNS name");
    }
    for (String name : names) {
      if (!allowed.contains(name.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException("CSR asks for " + name + ", which this node does not own");
      }
    }
    try {
      PublicKey publicKey = new JcaPKCS10CertificationRequest(csr).getPublicKey();
      return pem(sign(publicKey, names, validity)) + pem(certificate);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("CSR key is unusable", e);
    }
  }

  /** A CSR for {@code names} signed by {@code pair} (what a node sends). */
  public static String newRequest(KeyPair pair, List<String> names) {
    try {
      JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(
          new X500Name("CN=" + names.get(0)), pair.getPublic());
      ExtensionsGenerator extensions = new ExtensionsGenerator();
      extensions.addExtension(Extension.subjectAlternativeName, false, sans(names));
      builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
      return pem(builder.build(signer(pair.getPrivate())));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 is not available", e);
    }
  }

  /** A private key and its certificate chain, both PEM. */
  public record KeyAndChain(String keyPem, String chainPem) {
  }

  private X509Certificate sign(PublicKey subjectKey, List<String> names, Duration validity) {
    try {
      Instant now = Instant.now();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate,
          new BigInteger(127, RANDOM), Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)),
          new X500Name("CN=" + names.get(0)), subjectKey);
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      builder.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      builder.addExtension(Extension.subjectAlternativeName, false, sans(names));
      builder.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(certificate));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subjectKey));
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer(key)));
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot sign a certificate", e);
    }
  }

  private static X509Certificate selfSign(KeyPair pair) {
    try {
      Instant now = Instant.now();
      X500Name name = new X500Name("CN=Funnel development CA " + Long.toHexString(RANDOM.nextLong()));
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, new BigInteger(127, RANDOM),
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(CA_VALIDITY)), name, pair.getPublic());
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(pair.getPublic()));
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer(pair.getPrivate())));
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot create the development CA", e);
    }
  }

  private static GeneralNames sans(List<String> names) {
    List<GeneralName> out = new ArrayList<>();
    for (String n : new LinkedHashSet<>(names)) {
      boolean ip = n.matches("[0-9.]+") || n.contains(":");
      out.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, n));
    }
    return new GeneralNames(out.toArray(GeneralName[]::new));
  }

  private static List<String> csrDnsNames(PKCS10CertificationRequest csr) {
    List<String> names = new ArrayList<>();
    for (var attribute : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
      Extensions extensions = Extensions.getInstance(attribute.getAttrValues().getObjectAt(0));
      GeneralNames sans = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
      if (sans == null) {
        continue;
      }
      for (GeneralName name : sans.getNames()) {
        if (name.getTagNo() != GeneralName.dNSName) {
          throw new IllegalArgumentException("CSR asks for a name that is not a DNS name");
        }
        names.add(name.getName().toString());
      }
    }
    return names;
  }

  private static ContentSigner signer(PrivateKey key) {
    try {
      return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    } catch (OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
  }

  /** PEM of a certificate, CSR or private key (PKCS#8). */
  public static String pem(Object object) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      if (object instanceof PrivateKey key) {
        // PKCS#8 ("PRIVATE KEY"): what Vert.x, OpenSSL and curl all read.
        writer.writeObject(new JcaPKCS8Generator(key, null));
      } else {
        writer.writeObject(object);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** PEM reading, shared by the CA and by nodes loading their keys. */
  public static final class Pem {
    private Pem() {
    }

    public static List<X509Certificate> certificates(String pem) {
      List<X509Certificate> out = new ArrayList<>();
      try (PEMParser parser = new PEMParser(new StringReader(pem))) {
        Object o;
        while ((o = parser.readObject()) != null) {
          if (o instanceof X509CertificateHolder holder) {
            out.add(new JcaX509CertificateConverter().getCertificate(holder));
          }
        }
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalArgumentException("bad certificate PEM", e);
      }
      return out;
    }

    public static PrivateKey privateKey(String pem) {
      try (PEMParser parser = new PEMParser(new StringReader(pem))) {
        Object o = parser.readObject();
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        if (o instanceof PEMKeyPair pair) {
          return converter.getKeyPair(pair).getPrivate();
        }
        if (o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
        throw new IllegalArgumentException("no private key in PEM");
      } catch (IOException e) {
        throw new IllegalArgumentException("bad private key PEM", e);
      }
    }

    public static PKCS10CertificationRequest csr(String pem) {
      try (PEMParser parser = new PEMParser(new StringReader(pem))) {
        Object o = parser.readObject();
        if (o instanceof PKCS10CertificationRequest csr) {
          return csr;
        }
        throw new IllegalArgumentException("no certificate request in PEM");
      } catch (IOException e) {
        throw new IllegalArgumentException("bad certificate request PEM", e);
      }
    }
  }
}
