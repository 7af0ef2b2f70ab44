package dev.funnel.launcher;

import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.tls.DevCa;
import dev.funnel.frontend.FrontendVerticle;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code funnel frontend --cluster …}: an SNI frontend as one cluster member. */
@Command(name = "frontend", mixinStandardHelpOptions = true,
    description = {"Runs an SNI frontend as a member of a Funnel cluster.",
        "Its public listeners read each ClientHello's name (never terminating TLS), ask the registries for the route and the gateway for the stream."},
    footer = {"", "Example:",
        "  funnel frontend --cluster --cluster-host 10.0.0.12 --cluster-port 5701 \\",
        "      --cluster-members 10.0.0.11:5701,10.0.0.12:5701,10.0.0.13:5701 --state /var/lib/funnel \\",
        "      --domain funnel.example.com --public 443=0.0.0.0:443"})
final class FrontendCommand implements Callable<Integer> {


  @Spec
  CommandSpec spec;

  @Mixin
  ClusterFlags cluster;

  @Mixin
  FrontendLimitFlags limits;

  @Option(names = "--domain", paramLabel = "DOMAIN", description = "Base domain: nodes are NAME.TAILNET.DOMAIN (default: funnel.localhost).")
  String domain;

  @Option(names = "--public", paramLabel = "PORT=HOST:PORT",
      description = "Bind a public port (443, 8443, 10000) to a local address; repeatable (default: 443=127.0.0.1:8443).")
  List<String> publicListeners;

  @Option(names = "--frontend-id", paramLabel = "ID",
      description = "This frontend's id in logs and on its link certificate; unique per process (default: fe- and 8 random hex digits).")
  String frontendId;

  @Option(names = "--link-cert", paramLabel = "FILE",
      description = "PEM certificate this frontend presents on gateways' link ports (default: one from the development CA "
          + "in --state, for frontend.ID.funnel.internal).")
  String linkCert;

  @Option(names = "--link-key", paramLabel = "FILE", description = "PEM private key for --link-cert.")
  String linkKey;

  @Option(names = "--link-ca", paramLabel = "FILE",
      description = "PEM CA that gateways' certificates must chain to (default: the development CA in --state).")
  String linkCa;

  @Option(names = "--no-access-log", description = "Do not log one line per connection (logger funnel.access).")
  boolean noAccessLog;

  @Option(names = "--clienthello-timeout-ms", paramLabel = "MILLIS",
      description = "A client must send its whole ClientHello within this (default: " + FrontendOptions.DEFAULT_HELLO_TIMEOUT_MILLIS + ").")
  String clientHelloTimeoutMillis;

  @Override
  public Integer call() {
    return ClusterLaunch.run(spec, "frontend", FrontendCommand::prepare);
  }

  private static ClusterLaunch.Service prepare(ServiceConfig config) {
    Map<Integer, HostPort> listeners = Flags.publicListeners(config.list("public", List.of("443=127.0.0.1:8443")));
    FrontendOptions options = FrontendLimitFlags.applyTo(new FrontendOptions(), config)
        .setFrontendId(config.string("frontend-id", ClusterFlags.randomId("fe-")))
        .setDomain(config.string("domain", FrontendOptions.DEFAULT_DOMAIN).toLowerCase())
        .setPublicListeners(listeners)
        .setAccessLog(!config.bool("no-access-log"))
        .setHelloTimeoutMillis(config.number("clienthello-timeout-ms", FrontendOptions.DEFAULT_HELLO_TIMEOUT_MILLIS));
    linkTls(config, options);
    HostPort metricsListen = config.hostPort("metrics-listen", null);
    return cluster -> start(cluster, options, metricsListen);
  }

  /**
   * The certificate this frontend shows gateways' link ports and the CA it checks theirs with:
   * given as files, or (the default) from the development CA in the state directory every member
   * shares.
   */
  private static void linkTls(ServiceConfig config, FrontendOptions options) {
    Path cert = config.path("link-cert", null);
    Path key = config.path("link-key", null);
    Path ca = config.path("link-ca", null);
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException("--link-cert and --link-key go together");
    }
    for (Path file : new Path[] {cert, key, ca}) {
      if (file != null && !Files.isReadable(file)) {
        throw new IllegalArgumentException("cannot read " + file);
      }
    }
    DevCa dev = cert == null || ca == null ? DevCa.loadOrCreate(ClusterFlags.state(config)) : null;
    if (cert != null) {
      options.setLinkKeyCert(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()));
    } else {
      DevCa.KeyAndChain issued = dev.issue(List.of("frontend." + options.getFrontendId().toLowerCase().replaceAll("[^a-z0-9-]", "-") + ".funnel.internal"),
          Duration.ofDays(365));
      options.setLinkKeyCert(new PemKeyCertOptions().setKeyValue(Buffer.buffer(issued.keyPem()))
          .setCertValue(Buffer.buffer(issued.chainPem())));
    }
    options.setLinkTrust(new PemTrustOptions().addCertPath((ca != null ? ca : dev.caPemPath()).toString()));
  }

  private static String start(FunnelCluster cluster, FrontendOptions options, HostPort metricsListen) {
    var vertx = cluster.vertx();
    AtomicBoolean listening = new AtomicBoolean();
    OpsVerticle ops = null;
    if (metricsListen != null) {
      ops = new OpsVerticle(metricsListen).ready("listeners", listening::get);
      vertx.deployVerticle(ops).await();
    }
    FrontendVerticle frontend = new FrontendVerticle(options, new GatewayLinks());
    vertx.deployVerticle(frontend).await();
    listening.set(true);
    Processes.drainOnStop("the frontend's drain", options.getDrainTimeoutSeconds(), () -> listening.set(false),
        frontend::drain);
    StringBuilder line = new StringBuilder("id ").append(options.getFrontendId()).append(", domain ").append(options.getDomain());
    frontend.actualPorts().forEach((pub, local) -> line.append(", public ").append(pub).append(" on ")
        .append(options.getPublicListeners().get(pub).host()).append(':').append(local));
    if (ops != null) {
      line.append(", metrics http://").append(metricsListen.host()).append(':').append(ops.actualPort()).append("/metrics");
    }
    return line.toString();
  }
}
