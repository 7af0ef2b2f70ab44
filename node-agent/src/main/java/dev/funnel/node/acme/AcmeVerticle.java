package dev.funnel.node.acme;

import dev.funnel.node.NodeAgentVerticle;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import java.lang.System.Logger.Level;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;

/**
 * Keeps this node's ACME certificate: orders one when the state directory has none for the node's
 * name (or it is past its renewal time), then renews it by {@link RenewalPlan}, and hands every new
 * certificate to {@code onIssued} (the launcher swaps it into the running terminators). One order at
 * a time; each runs in {@code executeBlocking} (acme4j blocks), the timers on this verticle's loop.
 *
 * <p>Challenges are tried in the configured order, one order each: tls-alpn-01 only when the node
 * funnels port 443 (the CA validates there, through the funnel like any client, and the node agent
 * hands the {@code acme-tls/1} connection to an {@link AlpnResponder}); dns-01 through the node's
 * session ({@link NodeAgentVerticle#setDnsChallenge}: the registry sets {@code _acme-challenge.NAME}
 * on Funnel's DNS, for this node's own name only, and removes it after).
 */
public final class AcmeVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(AcmeVerticle.class.getName());

  private final AcmeSettings settings;
  private final NodeAgentVerticle agent;
  private final String fqdn;
  private final Consumer<AcmeClient.Issued> onIssued;
  private final AcmeClient client;
  private final AcmeFiles files;
  private final AcmeMetrics metrics;
  private long timer = -1;
  private int failures;
  private Promise<AcmeClient.Issued> running;
  private Instant nextRenewal;
  /** The node's verified custom domains the certificate must name too (sorted); replaced on change. */
  private volatile List<String> aliases = List.of();

  public AcmeVerticle(AcmeSettings settings, NodeAgentVerticle agent, String fqdn,
                      Consumer<AcmeClient.Issued> onIssued) {
    this.settings = settings;
    this.agent = agent;
    this.fqdn = fqdn;
    this.onIssued = onIssued;
    this.client = new AcmeClient(settings);
    this.files = new AcmeFiles(settings.stateDir());
    this.metrics = AcmeMetrics.on(agent.meterRegistry());
  }

  @Override
  public Future<?> start() {
    return vertx.executeBlocking(() -> current().map(chain -> chain.get(0)))
        .onSuccess(leaf -> {
          if (leaf.isPresent()) {
            metrics.expiresAt(leaf.get().getNotAfter().toInstant());
            LOG.log(Level.INFO, "ACME certificate for " + fqdn + " in " + files.cert() + ", valid until "
                + leaf.get().getNotAfter().toInstant());
            planRenewal(leaf.get());
          } else {
            schedule(Instant.now(), "no ACME certificate for " + fqdn + " yet");
          }
        });
  }

  /**
   * The node's verified custom domains changed ({@code NodeAliases}): when the saved certificate
   * does not name all of them, a new order runs now. Any thread.
   */
  public void aliasesChanged(java.util.Set<String> verified) {
    List<String> next = verified.stream().sorted().toList();
    if (next.equals(aliases)) {
      return;
    }
    aliases = next;
    context.runOnContext(v -> vertx.executeBlocking(() -> current().isPresent(), false).onSuccess(covered -> {
      if (!covered && running == null) {
        schedule(Instant.now(), "the certificate does not name every verified alias " + next);
      }
    }));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    agent.setAcmeResponder(null);
    return Future.succeededFuture();
  }

  /** The saved certificate for this node's name, if there is one that is not expired. Blocking. */
  public Optional<List<X509Certificate>> current() {
    List<String> must = aliases;
    return files.chain().filter(chain -> covers(chain.get(0), fqdn)
        && must.stream().allMatch(alias -> covers(chain.get(0), alias))
        && chain.get(0).getNotAfter().toInstant().isAfter(Instant.now()));
  }

  /** When the next order is due (null while one runs or before start). */
  public Instant nextRenewal() {
    return nextRenewal;
  }

  /** Orders a new certificate now (a forced renewal); completes with it. */
  public Future<AcmeClient.Issued> renewNow() {
    Promise<AcmeClient.Issued> done = Promise.promise();
    context.runOnContext(v -> {
      if (running != null) {
        running.future().onComplete(done);
        return;
      }
      vertx.cancelTimer(timer);
      order().onComplete(done);
    });
    return done.future();
  }

  private void schedule(Instant at, String why) {
    vertx.cancelTimer(timer);
    nextRenewal = at;
    long delay = Math.max(1, Duration.between(Instant.now(), at).toMillis());
    LOG.log(Level.INFO, "ACME: next order for " + fqdn + " at " + at + " (" + why + ")");
    timer = vertx.setTimer(delay, id -> order());
  }

  /** One order, trying each challenge type in turn; on its end, the next renewal or retry is scheduled. */
  private Future<AcmeClient.Issued> order() {
    if (running != null) {
      return running.future();
    }
    running = Promise.promise();
    nextRenewal = null;
    Promise<AcmeClient.Issued> mine = running;
    vertx.executeBlocking(this::orderBlocking, false).onComplete(result -> {
      running = null;
      if (result.succeeded()) {
        failures = 0;
        AcmeClient.Issued issued = result.result();
        X509Certificate leaf = issued.chain().get(0);
        metrics.expiresAt(leaf.getNotAfter().toInstant());
        String named = aliases.stream().filter(alias -> covers(leaf, alias)).map(alias -> ", " + alias)
            .collect(java.util.stream.Collectors.joining());
        LOG.log(Level.INFO, "ACME: new certificate for " + fqdn + named + " from " + leaf.getIssuerX500Principal().getName()
            + ", valid until " + leaf.getNotAfter().toInstant() + "; saved in " + files.cert());
        try {
          onIssued.accept(issued);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "ACME: using the new certificate failed: " + e.getMessage());
        }
        List<String> must = aliases;
        if (agent.serves(443) && !must.stream().allMatch(alias -> covers(leaf, alias))) {
          schedule(Instant.now(), "an alias was verified while the order ran " + must);
        } else {
          planRenewal(leaf);
        }
        mine.complete(issued);
      } else {
        failures++;
        Throwable cause = result.cause();
        Optional<Instant> retryAfter = cause instanceof AcmeRateLimitedException limited
            ? limited.getRetryAfter() : Optional.empty();
        Instant at = RenewalPlan.retryAt(failures, retryAfter, ThreadLocalRandom.current().nextDouble(), Instant.now());
        LOG.log(Level.WARNING, "ACME order for " + fqdn + " failed: " + describe(cause)
            + (retryAfter.isPresent() ? " (the CA asks to wait until " + retryAfter.get() + ")" : ""));
        schedule(at, "retry " + failures);
        mine.fail(cause);
      }
    });
    return mine.future();
  }

  /** On a worker: each challenge type in turn until one order succeeds. */
  private AcmeClient.Issued orderBlocking() throws Exception {
    Exception last = null;
    for (String type : settings.challenges()) {
      if (type.equals(AcmeSettings.TLS_ALPN_01) && !agent.serves(443)) {
        LOG.log(Level.INFO, "ACME: skipping tls-alpn-01 for " + fqdn + ": this node does not funnel port 443");
        continue;
      }
      try {
        // Aliases are proven with tls-alpn-01 through the funnel, so only while port 443 is funnelled.
        List<String> names = agent.serves(443) ? aliases : List.of();
        AcmeClient.Issued issued = client.order(fqdn, names, type, responder);
        orders(type, "issued").increment();
        return issued;
      } catch (AcmeRateLimitedException e) {
        orders(type, "rate_limited").increment();
        throw e;
      } catch (Exception e) {
        orders(type, "failed").increment();
        LOG.log(Level.WARNING, "ACME " + type + " order for " + fqdn + " failed: " + describe(e)
            + (type.equals(settings.challenges().get(settings.challenges().size() - 1)) ? "" : "; trying the next challenge type"));
        last = e;
      }
    }
    throw last != null ? last : new IllegalStateException("no challenge type applies (tls-alpn-01 needs port 443 funnelled)");
  }

  private void planRenewal(X509Certificate leaf) {
    vertx.executeBlocking(() -> {
      try {
        return client.renewalWindow(leaf);
      } catch (Exception e) {
        LOG.log(Level.DEBUG, "ACME renewal information unavailable: " + describe(e));
        return Optional.<RenewalPlan.Window>empty();
      }
    }, false).onComplete(window -> {
      Optional<RenewalPlan.Window> ari = window.succeeded() ? window.result() : Optional.empty();
      Instant at = RenewalPlan.renewAt(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant(), ari,
          ThreadLocalRandom.current().nextDouble(), Instant.now());
      schedule(at, ari.isPresent() ? "in the CA's renewal window" : "two thirds of the certificate's lifetime");
    });
  }

  private Counter orders(String challenge, String outcome) {
    return metrics.order(challenge, outcome);
  }

  /** Puts challenge answers where the CA looks: the ALPN responder, or the TXT record through the session. */
  private final AcmeClient.Responder responder = new AcmeClient.Responder() {
    private AlpnResponder alpn;

    @Override
    public void presentAlpn(KeyPair key, X509Certificate cert) {
      try {
        alpn = AlpnResponder.start(key, cert);
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the tls-alpn-01 responder: " + e.getMessage(), e);
      }
      agent.setAcmeResponder(alpn.address());
    }

    @Override
    public void clearAlpn() {
      agent.setAcmeResponder(null);
      if (alpn != null) {
        alpn.close();
        alpn = null;
      }
    }

    @Override
    public void presentDns(String name, String digest) throws Exception {
      agent.setDnsChallenge(name, digest, true).toCompletionStage().toCompletableFuture()
          .get(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void clearDns(String name, String digest) {
      agent.setDnsChallenge(name, digest, false).onFailure(e ->
          LOG.log(Level.WARNING, "ACME: removing the _acme-challenge record of " + name + " failed: " + e.getMessage()));
    }
  };

  static boolean covers(X509Certificate leaf, String fqdn) {
    try {
      return leaf.getSubjectAlternativeNames() != null && leaf.getSubjectAlternativeNames().stream()
          .anyMatch(san -> fqdn.equalsIgnoreCase(String.valueOf(san.get(1))));
    } catch (java.security.cert.CertificateParsingException e) {
      return false;
    }
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
