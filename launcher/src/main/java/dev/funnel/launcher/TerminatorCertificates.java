package dev.funnel.launcher;

import dev.funnel.common.tls.DevCa;
import dev.funnel.node.NodeAgentVerticle;
import dev.funnel.node.acme.AcmeClient;
import dev.funnel.node.acme.AcmeFiles;
import dev.funnel.node.acme.AcmeVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Which certificate the node's terminators present, and when it changes: {@code --cert/--key} as
 * given; with {@code --acme} the ACME certificate (the server CA's stands in until the first order
 * completes), replaced on each renewal; otherwise one the server's CA signs through the session
 * ({@link NodeCertificates}), signed again when the node's verified custom domains change. The agent
 * hears each one's expiry (its gateways export it: {@code funnel_gateway_node_certificates}).
 */
final class TerminatorCertificates {

  private static final System.Logger LOG = System.getLogger(TerminatorCertificates.class.getName());

  private final Vertx vertx;
  private final NodeStack.Settings settings;
  private final NodeAgentVerticle agent;
  private final NodeTerminators terminators;
  private volatile AcmeVerticle acme;

  TerminatorCertificates(Vertx vertx, NodeStack.Settings settings, NodeAgentVerticle agent,
                         NodeTerminators terminators) {
    this.vertx = vertx;
    this.settings = settings;
    this.agent = agent;
    this.terminators = terminators;
  }

  /**
   * The certificate a terminator starts with: {@code --cert/--key}; with {@code --acme}, the ACME
   * certificate in the state directory when there is one for this name (else the server CA's until
   * the first order completes); otherwise the server CA's. Blocking.
   */
  static KeyCertOptions initial(NodeAgentVerticle agent, NodeStack.Settings settings, String fqdn) {
    if (settings.cert() != null) {
      return new PemKeyCertOptions().setCertPath(settings.cert().toString()).setKeyPath(settings.key().toString());
    }
    AcmeFiles acmeFiles = settings.acme() == null ? null : new AcmeFiles(settings.acme().stateDir());
    if (acmeFiles != null && acmeFiles.chain().filter(chain -> NodeCertificates.names(chain.get(0), fqdn)
        && chain.get(0).getNotAfter().toInstant().isAfter(Instant.now())).isPresent()) {
      LOG.log(Level.INFO, "using the ACME certificate for " + fqdn + " in " + acmeFiles.cert());
      return new PemKeyCertOptions().setCertPath(acmeFiles.cert().toString()).setKeyPath(acmeFiles.key().toString());
    }
    return NodeCertificates.obtain(agent, settings.state(), fqdn);
  }

  /** The ACME client whose certificates the terminators take ({@link #issued}). */
  void acme(AcmeVerticle acme) {
    this.acme = acme;
  }

  /**
   * Tells the agent when the certificate the terminators present expires. Nothing while the node
   * has none. Blocking (the files may have been renewed by another tool: read again).
   */
  void report() {
    NodeCertificates.notAfter(terminators.keyCert()).ifPresent(agent::certificateExpiry);
  }

  /**
   * A new ACME certificate: every running terminator takes it for new handshakes (open connections
   * keep theirs), and terminators bound later start with it. Called on the ACME verticle's loop.
   */
  void issued(AcmeClient.Issued issued) {
    KeyCertOptions next = new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(DevCa.pem(issued.domainKey().getPrivate())))
        .setCertValue(Buffer.buffer(issued.chainPem()));
    present(next)
        .onSuccess(v -> agent.certificateExpiry(issued.chain().get(0).getNotAfter().toInstant()))
        .onSuccess(v -> LOG.log(Level.INFO, "the terminator(s) now present the new ACME certificate for " + fqdn()))
        .onFailure(e -> LOG.log(Level.WARNING, "the new ACME certificate could not be loaded: " + e.getMessage()
            + "; keeping the old one"));
  }

  /**
   * The node's verified custom domains changed: the terminators serve them (HTTP requests for them
   * pass the name check), and the certificate must name them: with ACME a new order runs (aliases by
   * tls-alpn-01); with the server's CA a new certificate naming the node and its aliases is signed
   * through the session. With {@code --cert/--key} the operator's certificate stays as it is.
   */
  void aliasesVerified(Set<String> aliases) {
    terminators.aliasNames(aliases);
    AcmeVerticle ordering = acme;
    if (ordering != null) {
      ordering.aliasesChanged(aliases);
      return;
    }
    if (settings.cert() != null || !terminators.any()) {
      return;
    }
    List<String> names = new ArrayList<>();
    names.add(fqdn());
    aliases.stream().sorted().forEach(names::add);
    NodeCertificates.obtainAsync(vertx, agent, settings.state(), names).compose(this::present)
        .onSuccess(v -> LOG.log(Level.INFO, "the terminator(s) now present a certificate for " + fqdn()
            + (aliases.isEmpty() ? "" : " and " + String.join(", ", aliases.stream().sorted().toList()))))
        .onFailure(e -> LOG.log(Level.WARNING, "no certificate for the aliases " + aliases + ": " + e.getMessage()));
  }

  /** Orders a new ACME certificate now and waits for it ({@code funnel cert --renew}); its expiry. Blocking. */
  String renew() {
    AcmeVerticle ordering = acme;
    if (ordering == null) {
      throw new ServeControl.Failure(409, "NO_ACME", "this node does not use ACME (start it with --acme)");
    }
    try {
      AcmeClient.Issued issued = ordering.renewNow()
          .await(NodeStack.SERVE_CHANGE_TIMEOUT_MILLIS * 10, TimeUnit.MILLISECONDS);
      return issued.chain().get(0).getNotAfter().toInstant().toString();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new ServeControl.Failure(504, "TIMEOUT", "the ACME order did not complete in time");
    } catch (RuntimeException e) {
      throw new ServeControl.Failure(502, "ACME_FAILED", "the ACME order failed: " + Processes.describe(e));
    }
  }

  /** The swap runs on a worker: a serve change may hold the terminators' lock while it deploys one. */
  private Future<Void> present(KeyCertOptions next) {
    return vertx.executeBlocking(() -> terminators.present(next), false).compose(updated -> updated.mapEmpty());
  }

  private String fqdn() {
    return agent.fqdn().orElse("?");
  }
}
