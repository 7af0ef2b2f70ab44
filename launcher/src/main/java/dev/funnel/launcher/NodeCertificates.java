package dev.funnel.launcher;

import dev.funnel.common.StateFiles;
import dev.funnel.common.tls.DevCa;
import dev.funnel.node.NodeAgentVerticle;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.logging.Logger;

/**
 * The node's TLS certificate when no {@code --cert/--key} is given: a key made here (it never
 * leaves the node) and a certificate for exactly the node's name, signed by the server's CA
 * through the authenticated control channel. Kept in the node's state directory and reused while
 * it has more than {@link #RENEW_BEFORE} left. With {@code --acme} it is the stand-in until the
 * node's first ACME certificate arrives ({@code TerminatorCertificates.initial}, node-agent's
 * {@code AcmeVerticle}).
 */
final class NodeCertificates {

  private static final Logger LOG = Logger.getLogger(NodeCertificates.class.getName());
  static final String KEY_FILE = "tls-key.pem";
  static final String CERT_FILE = "tls-cert.pem";
  static final Duration RENEW_BEFORE = Duration.ofDays(30);

  private NodeCertificates() {
  }

  static PemKeyCertOptions obtain(NodeAgentVerticle agent, Path state, String fqdn) {
    return obtain(agent, state, List.of(fqdn));
  }

  /** As {@link #obtain(NodeAgentVerticle, Path, String)}, for the node's name and its verified aliases ({@code names}, the node's first). */
  static PemKeyCertOptions obtain(NodeAgentVerticle agent, Path state, List<String> names) {
    String fqdn = String.join(", ", names);
    Path keyFile = state.resolve(KEY_FILE);
    Path certFile = state.resolve(CERT_FILE);
    if (names.stream().allMatch(name -> stillGood(certFile, name))) {
      LOG.info("using the certificate for " + fqdn + " in " + certFile);
    } else {
      KeyPair pair = DevCa.newKeyPair();
      String chain = agent.signCertificate(DevCa.newRequest(pair, names)).await();
      StateFiles.writePrivate(keyFile, DevCa.pem(pair.getPrivate()));
      StateFiles.writePublic(certFile, chain);
      LOG.info("the server signed a certificate for " + fqdn + "; saved in " + certFile);
    }
    return new PemKeyCertOptions().setKeyPath(keyFile.toString()).setCertPath(certFile.toString());
  }

  /**
   * When the leaf certificate of {@code keyCert} expires: read from its first certificate file or
   * value; empty when it has none or it does not parse. Blocking (reads a file).
   */
  static java.util.Optional<Instant> notAfter(io.vertx.core.net.KeyCertOptions keyCert) {
    if (!(keyCert instanceof PemKeyCertOptions pem)) {
      return java.util.Optional.empty();
    }
    try {
      String chain = !pem.getCertPaths().isEmpty() ? Files.readString(Path.of(pem.getCertPaths().get(0)))
          : !pem.getCertValues().isEmpty() ? pem.getCertValues().get(0).toString(StandardCharsets.US_ASCII) : null;
      if (chain == null) {
        return java.util.Optional.empty();
      }
      return DevCa.Pem.certificates(chain).stream().findFirst().map(leaf -> leaf.getNotAfter().toInstant());
    } catch (IOException | RuntimeException e) {
      return java.util.Optional.empty();
    }
  }

  /**
   * As {@link #obtain(NodeAgentVerticle, Path, List)}, without blocking the caller (any thread but
   * a worker may not wait on the agent's future): files on a worker, the signature through the session.
   */
  static Future<PemKeyCertOptions> obtainAsync(Vertx vertx, NodeAgentVerticle agent, Path state, List<String> names) {
    Path keyFile = state.resolve(KEY_FILE);
    Path certFile = state.resolve(CERT_FILE);
    PemKeyCertOptions files = new PemKeyCertOptions().setKeyPath(keyFile.toString()).setCertPath(certFile.toString());
    return vertx.executeBlocking(() -> names.stream().allMatch(name -> stillGood(certFile, name)), false)
        .compose(good -> {
          if (good) {
            return Future.succeededFuture(files);
          }
          KeyPair pair = DevCa.newKeyPair();
          return agent.signCertificate(DevCa.newRequest(pair, names)).compose(chain -> vertx.executeBlocking(() -> {
            StateFiles.writePrivate(keyFile, DevCa.pem(pair.getPrivate()));
            StateFiles.writePublic(certFile, chain);
            LOG.info("the server signed a certificate for " + String.join(", ", names) + "; saved in " + certFile);
            return files;
          }, false));
        });
  }

  /** True when {@code leaf} names {@code fqdn} in its subject alternative names. */
  static boolean names(X509Certificate leaf, String fqdn) {
    try {
      return leaf.getSubjectAlternativeNames() != null && leaf.getSubjectAlternativeNames().stream()
          .anyMatch(san -> fqdn.equalsIgnoreCase(String.valueOf(san.get(1))));
    } catch (CertificateParsingException e) {
      return false;
    }
  }

  private static boolean stillGood(Path certFile, String fqdn) {
    if (!Files.isReadable(certFile)) {
      return false;
    }
    try {
      X509Certificate leaf = DevCa.Pem.certificates(Files.readString(certFile)).get(0);
      boolean names = leaf.getSubjectAlternativeNames() != null && leaf.getSubjectAlternativeNames().stream()
          .anyMatch(san -> fqdn.equalsIgnoreCase(String.valueOf(san.get(1))));
      return names && leaf.getNotAfter().toInstant().isAfter(Instant.now().plus(RENEW_BEFORE));
    } catch (IOException | RuntimeException | CertificateParsingException e) {
      return false;
    }
  }
}
