package dev.funnel.launcher;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.registry.RegistryService;
import io.vertx.core.Vertx;
import dev.funnel.node.acme.AcmeSettings;
import dev.funnel.terminator.auth.LoginSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code funnel demo}: the server, a tailnet {@code demo} with Funnel on, a hello page and a node
 * {@code hello} exposing it through the node's TLS terminator, all in one JVM; prints a curl line.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Everything in one command: a server, tailnet 'demo' and a node 'hello' serving a hello page.",
        "Funnel is on for 'demo'; the node puts the page on https://hello.demo.DOMAIN/ through its own TLS terminator.",
        "Prints a curl line that works; stays up until Ctrl-C."})
final class DemoCommand implements Callable<Integer> {

  static final String TAILNET = "demo";
  static final String NODE = "hello";

  @Option(names = "--state", paramLabel = "DIR", defaultValue = ".funnel", description = "State directory (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(names = "--domain", paramLabel = "DOMAIN", defaultValue = "funnel.localhost", description = "Base domain (default: ${DEFAULT-VALUE}).")
  String domain;

  @Option(names = "--public", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8443",
      converter = Flags.HostPortConverter.class, description = "Where public port 443 listens (default: ${DEFAULT-VALUE}).")
  HostPort publicListen;

  @Option(names = "--gateway-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7443",
      converter = Flags.HostPortConverter.class, description = "Where the node connects (default: ${DEFAULT-VALUE}).")
  HostPort gatewayListen;

  @Option(names = "--admin-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7080",
      converter = Flags.HostPortConverter.class, description = "Admin REST API (default: ${DEFAULT-VALUE}).")
  HostPort adminListen;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", converter = Flags.HostPortConverter.class,
      description = "Serve /metrics, /health and /ready here (off unless given).")
  HostPort metricsListen;

  @Option(names = "--no-access-log", description = "Do not log one line per connection (logger funnel.access).")
  boolean noAccessLog;

  @Option(names = "--" + FrontendLimitFlags.DRAIN_TIMEOUT, paramLabel = "SECONDS",
      defaultValue = "" + FrontendOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS,
      description = "On Ctrl-C or SIGTERM, give open public connections this long to end; a second Ctrl-C stops at"
          + " once; 0 = close them at once (default: ${DEFAULT-VALUE}).")
  long drainTimeoutSeconds;

  @Option(names = "--acme-directory", paramLabel = "URL",
      description = "Show the real path: node 'hello' gets its certificate from this ACME CA (tls-alpn-01 through the"
          + " funnel, dns-01 through its session) instead of the demo's own CA. The CA must resolve the name through"
          + " the demo's DNS (--dns-listen) and reach --public for tls-alpn-01 (Pebble: -dnsserver, tlsPort).")
  java.net.URI acmeDirectory;

  @Option(names = "--acme-ca", paramLabel = "FILE",
      description = "PEM CA bundle the ACME server's HTTPS certificate is checked against (e.g. Pebble's).")
  Path acmeCa;

  @Mixin
  DnsFlags dns;

  @Mixin
  LogFlags log;

  @Override
  public Integer call() {
    String base = Preflight.domain("--domain", domain);
    if (acmeDirectory == null && acmeCa != null) {
      throw new IllegalArgumentException("--acme-ca needs --acme-directory");
    }
    if (acmeDirectory != null && !"https".equals(acmeDirectory.getScheme())) {
      throw new IllegalArgumentException("--acme-directory " + acmeDirectory + " is not an https:// URL");
    }
    Preflight.pem("--acme-ca", acmeCa, "certificate");
    Preflight.free("--public", publicListen, false);
    Preflight.serverStart(gatewayListen, adminListen, metricsListen, dns.listen, state);
    LimitFlags limits = new LimitFlags();
    limits.frontend.drainTimeoutSeconds = FrontendLimitFlags.drainTimeout(drainTimeoutSeconds);
    Vertx vertx = FunnelVertx.node();
    Processes.closeOnShutdown(vertx, "demo");
    ServerStack server = Processes.startOrExit(vertx, "demo", () -> ServerStack.start(vertx,
        new ServerStack.Settings(state, base, Map.of(443, publicListen), gatewayListen, adminListen, metricsListen, !noAccessLog,
        FrontendOptions.DEFAULT_HELLO_TIMEOUT_MILLIS, limits)));
    dns.defaultFrontends(List.of(publicListen));
    String dnsLine = Processes.startOrExit(vertx, "demo", () -> DnsCommand.startInServer(vertx, dns, base));
    Path nodeState = state.resolve("demo-node");
    AcmeSettings acme = acmeDirectory == null ? null : new AcmeSettings(acmeDirectory, acmeCa, null, null, null,
        AcmeSettings.DEFAULT_CHALLENGES, nodeState, AcmeSettings.DEFAULT_TIMEOUT);
    NodeStack node = Processes.startOrExit(vertx, "demo", () -> {
      String authKey = enableTailnet(server.registry());
      HelloBackend hello = new HelloBackend();
      vertx.deployVerticle(hello).await();
      return NodeStack.start(vertx, new NodeStack.Settings(List.of(server.gatewayAddress()), 1, authKey, NODE,
          server.ca().caPemPath(), nodeState,
          dev.funnel.common.serve.ServeConfig.of(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + hello.actualPort()))),
          0, null, null, null,
          NodeOptions.DEFAULT_LINKS, LoginSettings.none(nodeState), acme));
    });

    // After the frontend's drain: the node stops (so it does not try to log in again when its session
    // ends), then the gateway ends the session while the registry still hears of it; only then does
    // Vert.x stop every verticle at once.
    Processes.beforeClose("the node's stop", 5_000, () -> node.drain(0));
    Processes.beforeClose("the gateway's drain", 5_000, server::drainGateway);
    String name = NODE + "." + TAILNET + "." + base;
    int localPort = server.publicPorts().get(443);
    System.out.println();
    System.out.println("Funnel demo is up: a private web app is public at https://" + name + "/");
    System.out.println("(public port 443 is " + publicListen.host() + ":" + localPort + " on this machine)");
    System.out.println();
    System.out.println("Try it:");
    if (acme != null) {
      System.out.println("  (the node orders its certificate from " + acmeDirectory + " now" + dnsLine
          + "; until it arrives, the demo's CA signs it)");
      System.out.println("  curl --cacert CA-ROOT.pem --connect-to " + name + ":443:"
          + publicListen.host() + ":" + localPort + " https://" + name + "/");
    } else {
      System.out.println("  curl --cacert " + server.ca().caPemPath() + " --connect-to " + name + ":443:"
          + publicListen.host() + ":" + localPort + " https://" + name + "/");
    }
    System.out.println();
    System.out.println("Expose your own app next (with the server of this demo running):");
    System.out.println("  ./funnel admin --state " + state + " key add --tailnet " + TAILNET);
    System.out.println("  ./funnel node --server " + server.gatewayAddress() + " --ca " + server.ca().caPemPath()
        + " --authkey KEY --hostname web --funnel 443=http://127.0.0.1:3000 --state .funnel-web");
    System.out.println();
    System.out.println("funnel demo ready (" + node.fqdn() + "; Ctrl-C stops everything)");
    System.out.flush();
    Processes.awaitShutdown();
    return 0;
  }

  /** Turns Funnel on for tailnet "demo" (creating it) and returns a short-lived one-off key for the node. */
  private static String enableTailnet(RegistryService registry) {
    boolean exists = registry.tailnets().stream().anyMatch(t -> t.name().equals(TAILNET));
    if (exists) {
      registry.updateTailnet(TAILNET, true, null).await();
    } else {
      registry.createTailnet(TAILNET, true, Set.of(443)).await();
    }
    return registry.createKey(TAILNET, false, Duration.ofMinutes(10)).await().key();
  }
}
