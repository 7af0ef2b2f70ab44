package dev.funnel.launcher;

import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.tls.DevCa;
import dev.funnel.gateway.GatewayVerticle;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code funnel gateway --cluster …}: a peerapi gateway as one cluster member. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
    description = {"Runs a peerapi gateway as a member of a Funnel cluster: nodes dial it (TLS) and keep their sessions on it.",
        "Frontends in other processes open tunnels on its link port: HTTP/2 over mutual TLS, one stream per tunnel."},
    footer = {"", "Example:",
        "  funnel gateway --cluster --cluster-host 10.0.0.13 --cluster-port 5701 \\",
        "      --cluster-members 10.0.0.11:5701,10.0.0.12:5701,10.0.0.13:5701 --state /var/lib/funnel \\",
        "      --gateway-listen 0.0.0.0:7443 --cert /etc/funnel/gateway.pem --key /etc/funnel/gateway-key.pem"})
final class GatewayCommand implements Callable<Integer> {

  static final HostPort DEFAULT_GATEWAY_LISTEN = new HostPort("127.0.0.1", 7443);

  @Spec
  CommandSpec spec;

  @Mixin
  ClusterFlags cluster;

  @Mixin
  GatewayLimitFlags limits;

  @Option(names = "--gateway-listen", paramLabel = "HOST:PORT", description = "Where nodes connect, TLS (default: 127.0.0.1:7443).")
  String gatewayListen;

  @Option(names = "--cert", paramLabel = "FILE",
      description = "PEM certificate chain nodes verify against their --ca (default: one from the development CA in --state).")
  String cert;

  @Option(names = "--key", paramLabel = "FILE", description = "PEM private key for --cert.")
  String key;

  @Option(names = "--link-listen", paramLabel = "HOST:PORT",
      description = "Link port for frontends in other processes: internal, HTTP/2 over mutual TLS with --cert, "
          + "frontends' certificates checked against --link-ca (default: --cluster-host, any free port).")
  String linkListen;

  @Option(names = "--link-advertise", paramLabel = "HOST",
      description = "Host frontends dial for the link, when --link-listen binds a wildcard (default: --cluster-host).")
  String linkAdvertise;

  @Option(names = "--link-ca", paramLabel = "FILE",
      description = "PEM CA that frontends' link certificates must chain to (default: the development CA in --state).")
  String linkCa;

  @Option(names = "--" + FrontendLimitFlags.DRAIN_TIMEOUT, paramLabel = "SECONDS",
      description = "On SIGTERM or Ctrl-C, tell the nodes to log in to another gateway and give the tunnels this"
          + " gateway carries this long to end before closing them; a second signal stops at once; 0 = close them"
          + " at once (default: " + GatewayOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS + ").")
  Long drainTimeoutSeconds;

  @Option(names = "--gateway-id", paramLabel = "ID",
      description = "This gateway's id in routes and logs; unique per process (default: gw- and 8 random hex digits).")
  String gatewayId;

  @Override
  public Integer call() {
    return ClusterLaunch.run(spec, "gateway", GatewayCommand::prepare);
  }

  private static ClusterLaunch.Service prepare(ServiceConfig config) {
    Path state = ClusterFlags.state(config);
    String clusterHost = config.string("cluster-host", "127.0.0.1");
    HostPort listen = config.hostPort("gateway-listen", DEFAULT_GATEWAY_LISTEN);
    HostPort link = config.hostPort("link-listen", new HostPort(clusterHost, 0));
    String advertise = config.string("link-advertise", isWildcard(link.host()) ? clusterHost : link.host());
    Path linkCa = config.path("link-ca", null);
    if (linkCa != null && !Files.isReadable(linkCa)) {
      throw new IllegalArgumentException("cannot read --link-ca " + linkCa);
    }
    String id = config.string("gateway-id", ClusterFlags.randomId("gw-"));
    Path cert = config.path("cert", null);
    Path key = config.path("key", null);
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException("--cert and --key go together");
    }
    if (cert != null && (!Files.isReadable(cert) || !Files.isReadable(key))) {
      throw new IllegalArgumentException("cannot read --cert " + cert + " or --key " + key);
    }
    HostPort metricsListen = config.hostPort("metrics-listen", null);
    // Checked here, before the process joins the cluster: a bad limit is a start-up error.
    GatewayOptions limited = GatewayLimitFlags.applyTo(new GatewayOptions(), config);
    limited.setDrainTimeoutSeconds(FrontendLimitFlags.drainTimeout(
        config.number(FrontendLimitFlags.DRAIN_TIMEOUT, GatewayOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS)));
    return cluster -> start(cluster, limited, state, id, listen, link, advertise, linkCa, cert, key, metricsListen);
  }

  private static String start(FunnelCluster cluster, GatewayOptions limited, Path state, String id, HostPort listen, HostPort link,
                              String advertise, Path linkCa, Path cert, Path key, HostPort metricsListen) {
    var vertx = cluster.vertx();
    AtomicBoolean listening = new AtomicBoolean();
    OpsVerticle ops = null;
    if (metricsListen != null) {
      ops = new OpsVerticle(metricsListen).ready("listeners", listening::get);
      vertx.deployVerticle(ops).await();
    }
    KeyCertOptions keyCert;
    DevCa signing;
    if (cert != null) {
      keyCert = new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString());
      // Sign nodes' certificate requests only when this state directory holds the development CA's key.
      signing = Files.exists(state.resolve(DevCa.CA_KEY_FILE)) ? DevCa.loadOrCreate(state) : null;
    } else {
      signing = DevCa.loadOrCreate(state);
      DevCa.KeyAndChain issued = signing.issue(names(listen, advertise), Duration.ofDays(365));
      keyCert = new PemKeyCertOptions().setKeyValue(Buffer.buffer(issued.keyPem()))
          .setCertValue(Buffer.buffer(issued.chainPem()));
    }
    GatewayVerticle gateway = new GatewayVerticle(limited
        .setGatewayId(id)
        .setListen(listen)
        .setKeyCert(keyCert)
        .setLinkListen(link)
        .setLinkAdvertiseHost(advertise)
        .setLinkTrust(new PemTrustOptions().addCertPath(
            (linkCa != null ? linkCa : DevCa.loadOrCreate(state).caPemPath()).toString())), signing);
    vertx.deployVerticle(gateway).await();
    cluster.registerGateway(id).await();
    listening.set(true);
    Processes.drainOnStop("the gateway's drain", limited.getDrainTimeoutSeconds(), () -> listening.set(false),
        gateway::drain);

    StringBuilder line = new StringBuilder("id ").append(id)
        .append(", gateway ").append(listen.host()).append(':').append(gateway.actualPort())
        .append(", link ").append(advertise).append(':').append(gateway.linkPort());
    if (ops != null) {
      line.append(", metrics http://").append(metricsListen.host()).append(':').append(ops.actualPort()).append("/metrics");
    }
    return line.append(", state ").append(state).toString();
  }

  private static boolean isWildcard(String host) {
    return host.equals("0.0.0.0") || host.equals("::");
  }

  /** The development certificate's names: the listen and cluster hosts plus loopback. */
  private static List<String> names(HostPort listen, String advertise) {
    LinkedHashSet<String> names = new LinkedHashSet<>();
    if (!isWildcard(listen.host())) {
      names.add(listen.host());
    }
    names.add(advertise);
    names.add("localhost");
    names.add("127.0.0.1");
    return new ArrayList<>(names);
  }
}
