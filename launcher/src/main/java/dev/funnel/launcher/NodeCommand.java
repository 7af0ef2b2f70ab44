package dev.funnel.launcher;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.HostPort;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code funnel node}: puts local servers on the internet through a gateway this node dials. */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = {"Runs the device side: dials a gateway, keeps a warm pool of data connections and",
        "answers ingress offers for the ports it funnels. Nothing is exposed that is not named by --funnel."},
    footer = {"", "TARGET is one of:",
        "  tcp://HOST:PORT                 raw TLS stream to a local server that terminates TLS itself",
        "  http://HOST:PORT[/path]         this node terminates TLS and proxies HTTP (h2, http/1.1, WebSocket)",
        "  https+insecure://HOST:PORT      as http://, to an HTTPS backend without verifying it",
        "  tls-terminated-tcp://HOST:PORT  this node terminates TLS and forwards the plaintext stream",
        "",
        "Example (web app on port 3000, name web.demo.funnel.localhost):",
        "  funnel node --server 127.0.0.1:7443 --ca .funnel/ca.pem --authkey fnl-auth-… \\",
        "              --hostname web --funnel 443=http://127.0.0.1:3000"})
final class NodeCommand implements Callable<Integer> {

  @Option(names = "--server", required = true, paramLabel = "HOST:PORT[,HOST:PORT…]",
      description = "Gateway address(es) to dial.")
  String servers;

  @Option(names = "--sessions", defaultValue = "1", description = "Sessions held at once, on different gateways: 1 or 2 (default: ${DEFAULT-VALUE}).")
  int sessions;

  @Option(names = "--authkey", paramLabel = "KEY", defaultValue = "${env:FUNNEL_AUTHKEY}",
      description = "Auth key from `funnel admin key add` (or env FUNNEL_AUTHKEY). Needed for the first login only:"
          + " later logins prove the node key kept in --state.")
  String authKey;

  @Option(names = "--hostname", required = true, paramLabel = "NAME",
      description = "This node's name: a DNS label; its public name is NAME.TAILNET.DOMAIN.")
  String hostname;

  @Option(names = "--ca", required = true, paramLabel = "FILE", description = "CA that signed the gateway's certificate (the server's ca.pem).")
  Path ca;

  @Option(names = "--state", defaultValue = ".funnel-node", description = "Node state: node key, certificates (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(names = "--funnel", required = true, paramLabel = "PORT=TARGET", description = "Funnel public PORT (443, 8443, 10000) to TARGET; repeatable.")
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

  @Override
  public Integer call() {
    if (proxyProtocol < 0 || proxyProtocol > 2) {
      throw new IllegalArgumentException("--proxy-protocol is 1 or 2");
    }
    if (sessions < 1 || sessions > 2) {
      throw new IllegalArgumentException("--sessions is 1 or 2");
    }
    NodeStack.Settings settings = new NodeStack.Settings(Flags.servers(servers), sessions,
        authKey == null || authKey.isBlank() ? null : authKey.trim(), hostname.toLowerCase(), ca, state,
        Flags.funnels(funnels), proxyProtocol, cert, key, metricsListen);
    Vertx vertx = FunnelVertx.node();
    Processes.closeOnShutdown(vertx);
    NodeStack node = Processes.startOrExit(vertx, "node", () -> NodeStack.start(vertx, settings));
    System.out.println(node.readyLine());
    System.out.flush();
    Processes.awaitShutdown();
    return 0;
  }
}
