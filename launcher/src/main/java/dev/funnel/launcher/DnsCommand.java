package dev.funnel.launcher;

import dev.funnel.common.cluster.FunnelCluster;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.OpsVerticle;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.dns.DnsOptions;
import dev.funnel.dns.DnsVerticle;
import dev.funnel.dns.push.DnsPushVerticle;
import dev.funnel.dns.push.PushOptions;
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
        "SOA, NS and CAA at the apex; _acme-challenge TXT while set. UDP and TCP on one port, response-rate limited.",
        "With --dns-push, also keeps those records in a zone hosted elsewhere by RFC 2136 updates signed with TSIG."},
    footer = {"", "Examples:",
        "  funnel dns --cluster --cluster-host 10.0.0.14 --cluster-port 5701 \\",
        "      --cluster-members 10.0.0.11:5701,10.0.0.14:5701 --state /var/lib/funnel \\",
        "      --domain funnel.example.com --dns-listen 0.0.0.0:53 \\",
        "      --dns-frontends eu=203.0.113.10,2001:db8::10 --dns-frontends us=198.51.100.10 \\",
        "      --dns-gateway-region gw-fra-1=eu --dns-ns ns1.funnel.example.com=203.0.113.53",
        "  Development: --dns-listen 127.0.0.1:5353, then dig @127.0.0.1 -p 5353 web.demo.funnel.localhost",
        "  Zone at your own primary: --dns-push ns-primary.example.com:53 --dns-push-zone example.com \\",
        "      --dns-push-tsig funnel:hmac-sha256:/etc/funnel/tsig.key"})
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
    String domain = config.string("domain", FrontendOptions.DEFAULT_DOMAIN).toLowerCase();
    DnsOptions options = DnsFlags.options(config, domain);
    // Checks the zone and push settings before joining the cluster.
    new DnsVerticle(options);
    PushOptions push = DnsFlags.pushOptions(config, domain);
    DnsPushVerticle pusher = push == null ? null : new DnsPushVerticle(push, options);
    HostPort metricsListen = config.hostPort("metrics-listen", null);
    return cluster -> start(cluster, options, pusher, push, metricsListen);
  }

  private static String start(FunnelCluster cluster, DnsOptions options, DnsPushVerticle pusher, PushOptions push,
                              HostPort metricsListen) {
    var vertx = cluster.vertx();
    AtomicBoolean listening = new AtomicBoolean();
    OpsVerticle ops = null;
    if (metricsListen != null) {
      ops = new OpsVerticle(metricsListen).ready("listeners", listening::get);
      vertx.deployVerticle(ops).await();
    }
    DnsVerticle dns = new DnsVerticle(options);
    vertx.deployVerticle(dns).await();
    if (pusher != null) {
      vertx.deployVerticle(pusher).await();
    }
    listening.set(true);
    StringBuilder line = new StringBuilder("domain ").append(options.getDomain())
        .append(", dns ").append(options.getHost()).append(':').append(dns.actualPort()).append(" (udp, tcp)")
        .append(pushLine(push));
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
    PushOptions push = flags.pushOptions(domain);
    String line = "";
    if (options != null) {
      DnsVerticle dns = new DnsVerticle(options);
      vertx.deployVerticle(dns).await();
      line = ", dns " + options.getHost() + ":" + dns.actualPort() + " (udp, tcp)";
    }
    if (push != null) {
      vertx.deployVerticle(new DnsPushVerticle(push, flags.zoneOptions(domain))).await();
      line += pushLine(push);
    }
    return line;
  }

  /** What the ready line says about RFC 2136 push: where to, which zone (empty when off). */
  private static String pushLine(PushOptions push) {
    return push == null ? "" : ", dns push " + push.getHost() + ":" + push.getPort() + " (zone " + push.getZone() + ")";
  }
}
