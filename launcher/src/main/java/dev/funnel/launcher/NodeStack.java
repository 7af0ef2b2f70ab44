package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.node.NodeAgentVerticle;
import dev.funnel.terminator.TerminatorOptions;
import dev.funnel.terminator.TerminatorVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The device side: the node agent and, when a funnelled port's target terminates TLS, the
 * tls-terminator. Order matters: the session comes up with the pass-through ports only; then the
 * node's certificate is loaded or signed for the name the session gave; then the terminator binds;
 * only then are the terminated ports announced, so no offer reaches a terminator that is not there.
 * Blocking: call from main.
 */
final class NodeStack {

  record Settings(List<HostPort> servers, int sessions, String authKey, String hostname, Path ca, Path state,
                  Map<Integer, ServeTarget> funnels, int proxyProtocol, Path cert, Path key, HostPort metricsListen) {
  }

  private final NodeAgentVerticle agent;
  private final TerminatorVerticle terminator;
  private final Map<Integer, ServeTarget> funnels;

  private NodeStack(NodeAgentVerticle agent, TerminatorVerticle terminator, Map<Integer, ServeTarget> funnels) {
    this.agent = agent;
    this.terminator = terminator;
    this.funnels = funnels;
  }

  static NodeStack start(Vertx vertx, Settings settings) {
    if (!Files.isReadable(settings.ca())) {
      throw new IllegalArgumentException("cannot read the CA file " + settings.ca()
          + " (--ca: the server's ca.pem, e.g. .funnel/ca.pem)");
    }
    if ((settings.cert() == null) != (settings.key() == null)) {
      throw new IllegalArgumentException("--cert and --key go together");
    }
    Map<Integer, ServeTarget> passThrough = new LinkedHashMap<>();
    Map<Integer, ServeTarget> terminated = new LinkedHashMap<>();
    settings.funnels().forEach((port, target) ->
        (target.kind().terminatesTls() ? terminated : passThrough).put(port, target));

    NodeOptions options = new NodeOptions()
        .setServers(settings.servers())
        .setSessions(settings.sessions())
        .setAuthKey(settings.authKey())
        .setHostname(settings.hostname())
        .setTrust(new PemTrustOptions().addCertPath(settings.ca().toString()))
        .setStateDir(settings.state())
        .setServe(passThrough)
        .setProxyProtocol(settings.proxyProtocol());
    NodeAgentVerticle agent = new NodeAgentVerticle(options);
    vertx.deployVerticle(agent).await();
    String fqdn = agent.fqdn().orElseThrow();

    TerminatorVerticle terminator = null;
    if (!terminated.isEmpty()) {
      KeyCertOptions keyCert = settings.cert() != null
          ? new PemKeyCertOptions().setCertPath(settings.cert().toString()).setKeyPath(settings.key().toString())
          : NodeCertificates.obtain(agent, settings.state(), fqdn);
      terminator = new TerminatorVerticle(new TerminatorOptions()
          .setTargets(terminated)
          .setKeyCert(keyCert)
          .setServerNames(Set.of(fqdn)));
      vertx.deployVerticle(terminator).await();
      options.getTerminatorListeners().putAll(terminator.listeners());
      agent.updateServe(settings.funnels()).await();
    }

    if (settings.metricsListen() != null) {
      OpsVerticle ops = new OpsVerticle(settings.metricsListen())
          .ready("session", () -> agent.fqdn().isPresent());
      vertx.deployVerticle(ops).await();
    }
    return new NodeStack(agent, terminator, settings.funnels());
  }

  NodeAgentVerticle agent() {
    return agent;
  }

  String fqdn() {
    return agent.fqdn().orElse("?");
  }

  boolean usesOpenSsl() {
    return terminator != null && terminator.usesOpenSsl();
  }

  /** One line for the node owner, containing {@code ready}. */
  String readyLine() {
    String mapping = funnels.entrySet().stream()
        .map(e -> "https://" + fqdn() + (e.getKey() == 443 ? "" : ":" + e.getKey()) + "/ → " + e.getValue())
        .collect(Collectors.joining(", "));
    return "funnel node ready: " + mapping;
  }
}
