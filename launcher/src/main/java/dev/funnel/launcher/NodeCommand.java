package dev.funnel.launcher;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.NodeOptions;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.ArrayList;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code funnel node}: puts local servers on the internet through a gateway this node dials. Its
 * {@code serve} subcommand talks to a running node; so that it does not need the node's own flags,
 * those are checked in {@link #call()} rather than marked required.
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    customSynopsis = {
        "funnel node --server HOST:PORT[,…] --hostname NAME --ca FILE",
        "            --funnel PORT=TARGET [--funnel …] [--authkey KEY] [--state DIR]",
        "            [--sessions 1|2] [--links N] [--proxy-protocol 1|2] [--cert FILE --key FILE]",
        "            [--acme [--acme-directory URL] [--acme-ca FILE] [--acme-email ADDR] [--acme-challenge TYPE,…]]",
        "            [--metrics-listen HOST:PORT] [--event-loops N]",
        "funnel node serve list|add PORT=TARGET|rm PORT [--state DIR]   (a running node)"},
    subcommands = {NodeServeCommand.class},
    description = {"Runs the device side: dials a gateway and answers ingress offers for the ports it funnels.",
        "It keeps a few link connections to the gateway (HTTP/2 over TLS, every tunnel one stream).",
        "Nothing is exposed that is not named by --funnel."},
    footer = {"", "TARGET is one of:",
        "  tcp://HOST:PORT                 raw TLS stream to a local server that terminates TLS itself",
        "  http://HOST:PORT[/path]         this node terminates TLS and proxies HTTP (h2, http/1.1, WebSocket)",
        "  https+insecure://HOST:PORT      as http://, to an HTTPS backend without verifying it",
        "  tls-terminated-tcp://HOST:PORT  this node terminates TLS and forwards the plaintext stream",
        "",
        "Example (web app on port 3000, name web.demo.funnel.localhost):",
        "  funnel node --server 127.0.0.1:7443 --ca .funnel/ca.pem --authkey fnl-auth-… \\",
        "              --hostname web --funnel 443=http://127.0.0.1:3000",
        "",
        "While it runs (its local control; see funnel node serve --help):",
        "  funnel node serve list --state .funnel-node",
        "  funnel node serve add 8443=tcp://127.0.0.1:9443 --state .funnel-node",
        "  funnel node serve rm 443 --state .funnel-node",
        "",
        "With a certificate from Let's Encrypt (the name must resolve to the frontends: funnel server --dns-listen):",
        "  funnel node … --funnel 443=http://127.0.0.1:3000 --acme --acme-email you@example.com"})
final class NodeCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--server", paramLabel = "HOST:PORT[,HOST:PORT…]",
      description = "Gateway address(es) to dial. Required.")
  String servers;

  @Option(names = "--sessions", paramLabel = "1|2",
      description = "Sessions held at once, on different gateways: 1 or 2 (default: 2 when --server names two or more"
          + " gateways, so losing one loses no reachability; else 1).")
  Integer sessions;

  @Option(names = "--links", paramLabel = "N", defaultValue = "" + NodeOptions.DEFAULT_LINKS,
      description = "Link connections per session, 1 to " + NodeOptions.MAX_LINKS + "; tunnels are streams spread over"
          + " them (default: ${DEFAULT-VALUE}).")
  int links = NodeOptions.DEFAULT_LINKS;

  @Option(names = "--event-loops", paramLabel = "N", defaultValue = "0",
      description = "Threads that carry tunnel bytes (the data plane's event loops) (default: one per core).")
  int eventLoops;

  @Option(names = "--authkey", paramLabel = "KEY", defaultValue = "${env:FUNNEL_AUTHKEY}",
      description = "Auth key from `funnel admin key add` (or env FUNNEL_AUTHKEY). Needed for the first login only:"
          + " later logins prove the node key kept in --state.")
  String authKey;

  @Option(names = "--hostname", paramLabel = "NAME",
      description = "This node's name: a DNS label; its public name is NAME.TAILNET.DOMAIN. Required.")
  String hostname;

  @Option(names = "--ca", paramLabel = "FILE",
      description = "CA that signed the gateway's certificate (the server's ca.pem). Required.")
  Path ca;

  @Option(names = "--state", defaultValue = ".funnel-node", description = "Node state: node key, certificates (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(names = "--funnel", paramLabel = "PORT=TARGET",
      description = "Funnel public PORT (443, 8443, 10000) to TARGET; repeatable. At least one is required.")
  List<String> funnels;

  @Option(names = "--proxy-protocol", defaultValue = "0", paramLabel = "1|2",
      description = "Send a PROXY protocol header (v1 or v2) with the public client's address to tcp:// targets.")
  int proxyProtocol;

  @Option(names = "--cert", paramLabel = "FILE", description = "PEM certificate for the node's name (default: signed by the server's CA on request).")
  Path cert;

  @Option(names = "--key", paramLabel = "FILE", description = "PEM private key for --cert.")
  Path key;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", converter = Flags.HostPortConverter.class,
      description = "Serve /metrics, /health and /ready here (off unless given).")
  HostPort metricsListen;

  @Mixin
  AcmeFlags acme;

  @Mixin
  LogFlags log;

  @Override
  public Integer call() {
    List<String> missing = new ArrayList<>();
    if (servers == null) {
      missing.add("'--server=HOST:PORT[,HOST:PORT…]'");
    }
    if (hostname == null) {
      missing.add("'--hostname=NAME'");
    }
    if (ca == null) {
      missing.add("'--ca=FILE'");
    }
    if (funnels == null || funnels.isEmpty()) {
      missing.add("'--funnel=PORT=TARGET'");
    }
    if (!missing.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "Missing required option" + (missing.size() > 1 ? "s" : "")
          + ": " + String.join(", ", missing));
    }
    if (proxyProtocol < 0 || proxyProtocol > 2) {
      throw new IllegalArgumentException("--proxy-protocol is 1 or 2");
    }
    if (sessions != null && (sessions < 1 || sessions > 2)) {
      throw new IllegalArgumentException("--sessions is 1 or 2");
    }
    if (links < 1 || links > NodeOptions.MAX_LINKS) {
      throw new IllegalArgumentException("--links is 1 to " + NodeOptions.MAX_LINKS);
    }
    dev.funnel.node.acme.AcmeSettings acmeSettings = acme.settings(state);
    if (acmeSettings != null && cert != null) {
      throw new IllegalArgumentException("--acme and --cert/--key exclude each other: the node gets its certificate"
          + " from the ACME CA, or uses the files you give");
    }
    List<HostPort> gateways = Flags.servers(servers);
    int keep = sessions != null ? sessions : gateways.size() >= 2 ? 2 : 1;
    NodeStack.Settings settings = new NodeStack.Settings(gateways, keep,
        authKey == null || authKey.isBlank() ? null : authKey.trim(), hostname.toLowerCase(), ca, state,
        Flags.funnels(funnels), proxyProtocol, cert, key, metricsListen, links, acmeSettings);
    DataPlane.configure(Flags.eventLoops(eventLoops));
    Preflight.pem("--ca", ca, "certificate");
    Preflight.pem("--cert", cert, "certificate");
    Preflight.pem("--key", key, "key");
    Preflight.pem("--acme-ca", acmeSettings == null ? null : acmeSettings.caFile(), "certificate");
    Preflight.free("--metrics-listen", metricsListen, false);
    Preflight.writable("--state", state);
    Preflight.gatewayTrusted(gateways, ca);
    Vertx vertx = FunnelVertx.node();
    Processes.closeOnShutdown(vertx, "node");
    NodeStack node = Processes.startOrExit(vertx, "node", () -> NodeStack.start(vertx, settings));
    System.out.println(node.readyLine());
    System.out.flush();
    Processes.awaitShutdown();
    return 0;
  }
}
