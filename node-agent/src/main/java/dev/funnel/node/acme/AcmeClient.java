package dev.funnel.node.acme;

import dev.funnel.common.tls.DevCa;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.RenewalInfo;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.Dns01Challenge;
import org.shredzone.acme4j.challenge.TlsAlpn01Challenge;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;

/**
 * The node's ACME client (acme4j): account, one order for the node's own name, its challenge,
 * finalisation with a CSR signed by a domain key made here, download. <b>Blocking</b> (acme4j does
 * its HTTP synchronously): call it from a worker ({@code executeBlocking}), never from an event loop.
 *
 * <p>One order tries one challenge type: a challenge that fails makes its authorisation invalid, so
 * falling back to another type is a new order ({@link AcmeVerticle} does that).
 */
public final class AcmeClient {

  private static final System.Logger LOG = System.getLogger(AcmeClient.class.getName());

  /** Puts a challenge's answer where the CA will look, and takes it away again. Called on the order's thread. */
  public interface Responder {
    /** Answers {@code acme-tls/1} handshakes for the node's name with {@code cert} until {@link #clearAlpn}. */
    void presentAlpn(KeyPair key, X509Certificate cert);

    void clearAlpn();

    /** Sets {@code TXT digest} at {@code _acme-challenge.fqdn}; returns once the server confirms it is set. */
    void presentDns(String fqdn, String digest) throws Exception;

    void clearDns(String fqdn, String digest);
  }

  /** A new certificate: its domain key and its chain (PEM, leaf first). */
  public record Issued(KeyPair domainKey, String chainPem, List<X509Certificate> chain) {
  }

  static {
    // acme4j signs with BouncyCastle's provider ("BC") and expects it registered.
    if (java.security.Security.getProvider("BC") == null) {
      java.security.Security.addProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider());
    }
  }

  private final AcmeSettings settings;
  private final AcmeFiles files;
  private Login login;

  public AcmeClient(AcmeSettings settings) {
    this.settings = settings;
    this.files = new AcmeFiles(settings.stateDir());
  }

  /** Runs one order for {@code fqdn} with challenge {@code type}, and saves the result in the state directory. */
  public Issued order(String fqdn, String type, Responder responder) throws AcmeException, InterruptedException {
    return order(fqdn, List.of(), type, responder);
  }

  /**
   * Runs one order for {@code fqdn} and its verified custom domains {@code aliases} (one certificate
   * naming them all), and saves the result. The node's own name is proven with {@code type}; each
   * alias with tls-alpn-01 through the funnel (dns-01 cannot work for a name in someone else's zone).
   */
  public Issued order(String fqdn, List<String> aliases, String type, Responder responder)
      throws AcmeException, InterruptedException {
    Login account = login();
    List<String> names = new java.util.ArrayList<>();
    names.add(fqdn);
    aliases.stream().filter(a -> !a.equalsIgnoreCase(fqdn)).sorted().forEach(names::add);
    Order order = account.newOrder().domains(names).create();
    LOG.log(System.Logger.Level.INFO, "ACME order for " + String.join(", ", names) + " (" + type + "): "
        + order.getStatus());
    for (Authorization authorization : order.getAuthorizations()) {
      if (authorization.getStatus() == Status.VALID) {
        continue;
      }
      String name = authorization.getIdentifier().getDomain();
      boolean own = name.equalsIgnoreCase(fqdn);
      authorize(authorization, name, own ? type : TlsAlpn01Challenge.TYPE, responder);
    }
    Status ready = order.waitUntilReady(settings.timeout());
    if (ready == Status.INVALID) {
      throw new AcmeException("the order became invalid" + problem(order.getError()));
    }
    KeyPair domainKey = DevCa.newKeyPair();
    order.execute(domainKey);
    Status done = order.waitForCompletion(settings.timeout());
    if (done != Status.VALID) {
      throw new AcmeException("the order ended " + done + problem(order.getError()));
    }
    org.shredzone.acme4j.Certificate certificate = order.getCertificate();
    StringWriter chain = new StringWriter();
    try {
      certificate.writeCertificate(chain);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    files.save(domainKey, chain.toString());
    return new Issued(domainKey, chain.toString(), certificate.getCertificateChain());
  }

  private void authorize(Authorization authorization, String fqdn, String type, Responder responder)
      throws AcmeException, InterruptedException {
    if (TlsAlpn01Challenge.TYPE.equals(type)) {
      TlsAlpn01Challenge challenge = authorization.findChallenge(TlsAlpn01Challenge.class)
          .orElseThrow(() -> new AcmeException("the CA offers no tls-alpn-01 challenge for " + fqdn));
      // RSA: acme4j 4.0.0 signs the challenge certificate with SHA256withRSA whatever the key.
      KeyPair key = org.shredzone.acme4j.util.KeyPairUtils.createKeyPair(2048);
      responder.presentAlpn(key, challenge.createCertificate(key, authorization.getIdentifier()));
      try {
        complete(challenge, fqdn);
      } finally {
        responder.clearAlpn();
      }
    } else {
      Dns01Challenge challenge = authorization.findChallenge(Dns01Challenge.class)
          .orElseThrow(() -> new AcmeException("the CA offers no dns-01 challenge for " + fqdn));
      try {
        responder.presentDns(fqdn, challenge.getDigest());
      } catch (AcmeException | InterruptedException e) {
        throw e;
      } catch (Exception e) {
        throw new AcmeException("cannot set the _acme-challenge record: " + e.getMessage());
      }
      try {
        complete(challenge, fqdn);
      } finally {
        responder.clearDns(fqdn, challenge.getDigest());
      }
    }
  }

  private void complete(Challenge challenge, String fqdn) throws AcmeException, InterruptedException {
    challenge.trigger();
    Status status = challenge.waitForCompletion(settings.timeout());
    if (status != Status.VALID) {
      throw new AcmeException(challenge.getType() + " for " + fqdn + " ended " + status + problem(challenge.getError()));
    }
  }

  /**
   * The CA's suggested renewal window for {@code certificate} (ACME Renewal Information, RFC 9773),
   * or empty when the CA does not offer it. Blocking.
   */
  public Optional<RenewalPlan.Window> renewalWindow(X509Certificate certificate) throws AcmeException {
    Login account = login();
    Session session = account.getSession();
    if (session.resourceUrlOptional(Resource.RENEWAL_INFO).isEmpty()) {
      return Optional.empty();
    }
    RenewalInfo info = account.bindRenewalInfo(certificate);
    return Optional.of(new RenewalPlan.Window(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd()));
  }

  /** The account: its key from the state directory (made on first use), found or created at the CA. */
  private synchronized Login login() throws AcmeException {
    if (login != null) {
      return login;
    }
    Session session = new Session(settings.directory(), new TrustingProvider(settings));
    AccountBuilder builder = new AccountBuilder().agreeToTermsOfService().useKeyPair(files.accountKey());
    if (settings.email() != null) {
      builder.addEmail(settings.email());
    }
    if (settings.eabKid() != null) {
      builder.withKeyIdentifier(settings.eabKid(), settings.eabHmacKey());
    }
    login = builder.createLogin(session);
    return login;
  }

  private static String problem(Optional<org.shredzone.acme4j.Problem> problem) {
    return problem.map(p -> ": " + p.toString()).orElse("");
  }

  /**
   * acme4j's generic provider (any {@code https://} directory), with an HTTP client that trusts the
   * CA bundle of {@code --acme-ca} when one is given (a private ACME CA; Pebble in tests).
   */
  static final class TrustingProvider extends GenericAcmeProvider {
    private final AcmeSettings settings;

    TrustingProvider(AcmeSettings settings) {
      this.settings = settings;
    }

    @Override
    public boolean accepts(URI serverUri) {
      return "https".equals(serverUri.getScheme());
    }

    @Override
    public HttpClient createHttpClient(NetworkSettings network) {
      HttpClient.Builder builder = HttpClient.newBuilder()
          .followRedirects(HttpClient.Redirect.NORMAL)
          .connectTimeout(network.getTimeout())
          .proxy(network.getProxySelector());
      if (settings.caFile() != null) {
        builder.sslContext(sslContext(settings));
      }
      return builder.build();
    }

    private static SSLContext sslContext(AcmeSettings settings) {
      try {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        int i = 0;
        for (X509Certificate ca : DevCa.Pem.certificates(Files.readString(settings.caFile()))) {
          trust.setCertificateEntry("ca-" + i++, ca);
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read --acme-ca " + settings.caFile(), e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot use --acme-ca " + settings.caFile() + ": " + e.getMessage(), e);
      }
    }
  }
}
