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
import java.util.LinkedHashMap;
import java.util.Map;
import dev.funnel.common.serve.ServeFlags;
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
        "            --funnel PORT[:/PATH]=TARGET [--funnel …] [--authkey KEY] [--state DIR]",
        "            [--deny-cidr|--allow-cidr PORT[:/PATH]=CIDR[,…]] [--rate-limit PORT[:/PATH]=N/s]",
        "            [--verify PORT[:/PATH]=github|stripe|slack:SECRET_FILE] [--auth PORT[:/PATH]=oidc|basic:FILE]",
        "            [--max-body PORT[:/PATH]=SIZE] [--max-concurrent PORT[:/PATH]=N] [--config FILE]",
        "            [--sessions 1|2] [--links N] [--proxy-protocol 1|2] [--cert FILE --key FILE]",
        "            [--acme [--acme-directory URL] [--acme-ca FILE] [--acme-email ADDR] [--acme-challenge TYPE,…]]",
        "            [--metrics-listen HOST:PORT] [--event-loops N]",
        "funnel node serve list|add PORT[:/PATH]=TARGET|rm PORT[:/PATH] [--state DIR]   (a running node)"},
    subcommands = {NodeServeCommand.class},
    description = {"Runs the device side: dials a gateway and answers ingress offers for the ports it funnels.",
        "It keeps a few link connections to the gateway (HTTP/2 over TLS, every tunnel one stream).",
        "Nothing is exposed that is not named by --funnel."},
    footer = {"", "TARGET is one of:",
        "  tcp://HOST:PORT                 raw TLS stream to a local server that terminates TLS itself",
        "  http://HOST:PORT[/path]         this node terminates TLS and proxies HTTP (h2, http/1.1, WebSocket)",
        "  https+insecure://HOST:PORT      as http://, to an HTTPS backend without verifying it",
        "  tls-terminated-tcp://HOST:PORT  this node terminates TLS and forwards the plaintext stream",
        "  file:///DIR[?listing]           this node serves the directory (ETag, Range; never outside DIR)",
        "  text:STRING                     this node answers 200 with STRING",
        "  redirect:URL                    this node answers 302 to URL (rest of the path and query appended)",
        "",
        "Paths: --funnel 443:/api=http://127.0.0.1:8080 --funnel 443=file:///srv/site — the longest PATH prefix",
        "wins; no PATH is /. The matched prefix is replaced by the target's path (/api/users → /users above).",
        "tcp:// and tls-terminated-tcp:// take a whole port. Gate rules on PORT cover every path of the port;",
        "on PORT:/PATH that route only, over the port's. A rule this build cannot enforce is refused at start.",
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

  @Option(names = "--" + FrontendLimitFlags.DRAIN_TIMEOUT, paramLabel = "SECONDS",
      defaultValue = "" + NodeOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS,
      description = "On SIGTERM or Ctrl-C, end the sessions (no new tunnel comes) and give the tunnels running this"
          + " long to end; a second signal stops at once; 0 = close them at once (default: ${DEFAULT-VALUE}).")
  long drainTimeoutSeconds = NodeOptions.DEFAULT_DRAIN_TIMEOUT_SECONDS;

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

  @Option(names = "--domain-alias", paramLabel = "NAME",
      description = "A custom domain for this node, e.g. blog.example.com; repeatable. The node prints the two records"
          + " to publish (_funnel-challenge.NAME TXT and NAME CNAME to this node's name); routed once the server"
          + " has seen both.")
  List<String> domainAliases;

  @Option(names = "--ca", paramLabel = "FILE",
      description = "CA that signed the gateway's certificate (the server's ca.pem). Required.")
  Path ca;

  @Option(names = "--state", paramLabel = "DIR", defaultValue = ".funnel-node", description = "Node state: node key, certificates (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(names = "--funnel", paramLabel = "PORT[:/PATH]=TARGET",
      description = "Funnel public PORT (443, 8443, 10000), or the paths under PATH on it, to TARGET; repeatable."
          + " At least one is required.")
  List<String> funnels;

  @Option(names = "--deny-cidr", paramLabel = "PORT[:/PATH]=CIDR[,…]",
      description = "Refuse clients in these networks (IPv4/IPv6; checked first); repeatable.")
  List<String> denyCidr;

  @Option(names = "--allow-cidr", paramLabel = "PORT[:/PATH]=CIDR[,…]",
      description = "Let only clients in these networks in; repeatable.")
  List<String> allowCidr;

  @Option(names = "--rate-limit", paramLabel = "PORT[:/PATH]=N/s",
      description = "Requests per client address (N/s, N/m or N/h); over it: 429.")
  List<String> rateLimit;

  @Option(names = "--verify", paramLabel = "PORT[:/PATH]=KIND:SECRET_FILE",
      description = "Webhook signature every request must carry: github:FILE, stripe:FILE, slack:FILE or"
          + " hmac-sha256:HEADER:FILE; failures get 401.")
  List<String> verify;

  @Option(names = "--auth", paramLabel = "PORT[:/PATH]=oidc|basic:FILE|bearer:FILE|off",
      description = "Login in front of the port or path (off: none on this path even if the port has one).")
  List<String> auth;

  @Option(names = "--max-body", paramLabel = "PORT[:/PATH]=SIZE",
      description = "Largest request body (e.g. 10m); over it: 413.")
  List<String> maxBody;

  @Option(names = "--max-concurrent", paramLabel = "PORT[:/PATH]=N",
      description = "Requests at the target at once; over it: 503.")
  List<String> maxConcurrent;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Settings file, YAML (or JSON if it ends in .json): flag names without the dashes as keys"
          + " (funnel: [\"443=http://127.0.0.1:3000\", \"443:/static=file:///srv/site\"], allow-cidr: […], …)."
          + " With it, FUNNEL_* environment variables win over the file and flags over both.")
  String config;

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

  /** The gate flags, by rule name (the flag without dashes). */
  private Map<String, List<String>> gateFlags() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    put(out, "deny-cidr", denyCidr);
    put(out, "allow-cidr", allowCidr);
    put(out, "rate-limit", rateLimit);
    put(out, "verify", verify);
    put(out, "auth", auth);
    put(out, "max-body", maxBody);
    put(out, "max-concurrent", maxConcurrent);
    return out;
  }

  private static void put(Map<String, List<String>> out, String rule, List<String> entries) {
    if (entries != null && !entries.isEmpty()) {
      out.put(rule, entries);
    }
  }

  /** With --config: every setting from the file, the environment and the flags merged (flags win). */
  private void applyConfig() {
    ServiceConfig c = ServiceConfig.loadOwn(spec, System.getenv());
    servers = c.string("server", servers);
    String s = c.string("sessions", null);
    if (s != null) {
      sessions = (int) c.number("sessions", 0);
    }
    links = c.integer("links", links);
    eventLoops = c.integer("event-loops", eventLoops);
    drainTimeoutSeconds = c.number(FrontendLimitFlags.DRAIN_TIMEOUT, drainTimeoutSeconds);
    authKey = c.string("authkey", authKey);
    hostname = c.string("hostname", hostname);
    domainAliases = c.entries("domain-alias", domainAliases);
    ca = c.path("ca", ca);
    state = c.path("state", state);
    funnels = c.entries("funnel", funnels);
    denyCidr = c.entries("deny-cidr", denyCidr);
    allowCidr = c.entries("allow-cidr", allowCidr);
    rateLimit = c.entries("rate-limit", rateLimit);
    verify = c.entries("verify", verify);
    auth = c.entries("auth", auth);
    maxBody = c.entries("max-body", maxBody);
    maxConcurrent = c.entries("max-concurrent", maxConcurrent);
    proxyProtocol = c.integer("proxy-protocol", proxyProtocol);
    cert = c.path("cert", cert);
    key = c.path("key", key);
    metricsListen = c.hostPort("metrics-listen", metricsListen);
    login.issuer = c.string(LoginFlags.ISSUER, login.issuer);
    login.clientId = c.string(LoginFlags.CLIENT_ID, login.clientId);
    login.secretFile = c.path(LoginFlags.SECRET_FILE, login.secretFile);
    login.session = c.string(LoginFlags.SESSION, login.session);
    login.allowEmail = c.entries(LoginFlags.ALLOW_EMAIL, login.allowEmail);
    login.allowDomain = c.entries(LoginFlags.ALLOW_DOMAIN, login.allowDomain);
    login.allowGroup = c.entries(LoginFlags.ALLOW_GROUP, login.allowGroup);
    login.authSkip = c.entries(LoginFlags.AUTH_SKIP, login.authSkip);
  }

  @Mixin
  LoginFlags login;

  /** The --domain-alias values, lower case, each a host name of two labels or more; a usage error otherwise. */
  private List<String> domainAliases(List<String> given) {
    List<String> out = new ArrayList<>();
    for (String raw : given == null ? List.<String>of() : given) {
      String name = dev.funnel.common.Hostnames.normalise(raw.trim()).filter(n -> n.contains("."))
          .orElseThrow(() -> new ParameterException(spec.commandLine(), "--domain-alias: '" + raw
              + "' is not a host name such as blog.example.com"));
      if (!out.contains(name)) {
        out.add(name);
      }
    }
    if (out.size() > dev.funnel.common.options.RegistryOptions.DEFAULT_MAX_ALIASES_PER_NODE) {
      throw new ParameterException(spec.commandLine(), "--domain-alias: at most "
          + dev.funnel.common.options.RegistryOptions.DEFAULT_MAX_ALIASES_PER_NODE + " per node");
    }
    return out;
  }

  @Override
  public Integer call() {
    if (config != null) {
      applyConfig();
    }
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
      missing.add("'--funnel=PORT[:/PATH]=TARGET'");
    }
    if (!missing.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "Missing required option" + (missing.size() > 1 ? "s" : "")
          + ": " + String.join(", ", missing));
    }
    String badName = NodeHostname.problem(hostname);
    if (badName != null) {
      throw new IllegalArgumentException(badName);
    }
    if (proxyProtocol < 0 || proxyProtocol > 2) {
      throw new IllegalArgumentException("--proxy-protocol is 1 or 2");
    }
    FrontendLimitFlags.drainTimeout(drainTimeoutSeconds);
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
        authKey == null || authKey.isBlank() ? null : authKey.trim(), hostname, ca, state,
        ServeFlags.parse(funnels, gateFlags()), proxyProtocol, cert, key, metricsListen, links, login.settings(state),
        acmeSettings, domainAliases(domainAliases));
    Preflight.serve(settings.serve());
    GateSupport.check(settings.serve());
    DataPlane.configure(Flags.eventLoops(eventLoops));
    Preflight.pem("--ca", ca, "certificate");
    Preflight.pem("--cert", cert, "certificate");
    Preflight.pem("--key", key, "key");
    Preflight.pem("--acme-ca", acmeSettings == null ? null : acmeSettings.caFile(), "certificate");
    Preflight.free("--metrics-listen", metricsListen, false);
    Preflight.writable("--state", state);
    GatewayProbe.check(gateways, ca);
    Vertx vertx = FunnelVertx.node(metricsListen != null);
    Processes.closeOnShutdown(vertx, "node");
    NodeStack node = Processes.startOrExit(vertx, "node", () -> NodeStack.start(vertx, settings));
    // /ready turns 503 by itself once the sessions end.
    Processes.drainOnStop("the node's drain", drainTimeoutSeconds, () -> { }, () -> node.drain(drainTimeoutSeconds));
    System.out.println(node.readyLine());
    System.out.flush();
    Processes.awaitShutdown();
    return 0;
  }
}
