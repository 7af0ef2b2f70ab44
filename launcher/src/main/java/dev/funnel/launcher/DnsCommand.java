package dev.funnel.launcher;

import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.dns.DnsOptions;
import dev.funnel.dns.DnsVerticle;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code funnel dns --cluster …}: authoritative public DNS for the base domain as one cluster member. */
@Command(name = "dns", mixinStandardHelpOptions = true,
    description = {"Runs authoritative public DNS for the base domain as a member of a Funnel cluster.",
        "NAME.TAILNET.DOMAIN answers A/AAAA (the frontends of its gateway's region) only while the registries say it is routable;",
        "SOA, NS and CAA at the apex; _acme-challenge TXT while set. UDP and TCP on one port, response-rate limited."},
    footer = {"", "Examples:",
        "  funnel dns --cluster --cluster-host 10.0.0.14 --cluster-port 5701 \\",
        "      --cluster-members 10.0.0.11:5701,10.0.0.14:5701 --state /var/lib/funnel \\",
        "      --domain funnel.example.com --dns-listen 0.0.0.0:53 \\",
        "      --dns-frontends eu=203.0.113.10,2001:db8::10 --dns-frontends us=198.51.100.10 \\",
        "      --dns-gateway-region gw-fra-1=eu --dns-ns ns1.funnel.example.com=203.0.113.53",
        "  Development: --dns-listen 127.0.0.1:5353, then dig @127.0.0.1 -p 5353 web.demo.funnel.localhost"})
final class DnsCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Mixin
  ClusterFlags cluster;

  @Mixin
  DnsFlags dns;

  @Option(names = "--domain", paramLabel = "DOMAIN", description = "Base domain: nodes are NAME.TAILNET.DOMAIN (default: funnel.localhost).")
  String domain;

  @Override
  public Integer call() {
    return ClusterLaunch.run(spec, "dns", DnsCommand::prepare);
  }

  private static ClusterLaunch.Service prepare(ServiceConfig config) {
    DnsOptions options = DnsFlags.options(config, config.string("domain", FrontendOptions.DEFAULT_DOMAIN).toLowerCase());
    // Checks the zone settings before joining the cluster.
    new DnsVerticle(options);
    HostPort metricsListen = config.hostPort("metrics-listen", null);
    return cluster -> start(cluster, options, metricsListen);
  }

  private static String start(FunnelCluster cluster, DnsOptions options, HostPort metricsListen) {
    var vertx = cluster.vertx();
    AtomicBoolean listening = new AtomicBoolean();
    OpsVerticle ops = null;
    if (metricsListen != null) {
      ops = new OpsVerticle(metricsListen).ready("listeners", listening::get);
      vertx.deployVerticle(ops).await();
    }
    DnsVerticle dns = new DnsVerticle(options);
    vertx.deployVerticle(dns).await();
    listening.set(true);
    StringBuilder line = new StringBuilder("domain ").append(options.getDomain())
        .append(", dns ").append(options.getHost()).append(':').append(dns.actualPort()).append(" (udp, tcp)");
    if (ops != null) {
      line.append(", metrics http://").append(metricsListen.host()).append(':').append(ops.actualPort()).append("/metrics");
    }
    return line.toString();
  }

  /**
   * Inside {@code funnel server}: starts DNS when {@code --dns-listen} was given (blocking, from
   * main); returns what the ready line adds (empty when off).
   */
  static String startInServer(io.vertx.core.Vertx vertx, DnsFlags flags, String domain) {
    DnsOptions options = flags.options(domain);
    if (options == null) {
      return "";
    }
    DnsVerticle dns = new DnsVerticle(options);
    vertx.deployVerticle(dns).await();
    return ", dns " + options.getHost() + ":" + dns.actualPort() + " (udp, tcp)";
  }
}
