package dev.funnel.launcher;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.HostPort;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code funnel server}: frontend, registry and gateway in one JVM on the local event bus. */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = {"Runs frontend, session registry and gateway in one JVM (the default layout).",
        "Keeps a development CA, the admin API token and the embedded store in the state directory."},
    footer = {"", "Example:",
        "  funnel server --state ./.funnel --domain funnel.localhost --public 443=127.0.0.1:8443",
        "  funnel admin --state ./.funnel tailnet add demo --funnel on",
        "  Public DNS: --dns-listen 127.0.0.1:5353 serves it; --dns-push HOST:PORT --dns-push-tsig NAME:ALGORITHM:SECRET_FILE",
        "  keeps the same records in a zone at your own primary server (RFC 2136)."})
final class ServerCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Settings file, YAML (or JSON if it ends in .json): flag names without the dashes as keys"
          + " (domain: funnel.example.com, public: [\"443=0.0.0.0:443\"], …). With it, FUNNEL_* environment"
          + " variables win over the file and flags over both.")
  String config;

  @Option(names = "--state", paramLabel = "DIR", defaultValue = ".funnel", description = "State directory (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(names = "--domain", paramLabel = "DOMAIN", defaultValue = "funnel.localhost",
      description = "Base domain: nodes are NAME.TAILNET.DOMAIN (default: ${DEFAULT-VALUE}).")
  String domain;

  @Option(names = "--public", paramLabel = "PORT=HOST:PORT", defaultValue = "443=127.0.0.1:8443",
      description = "Bind a public port (443, 8443, 10000) to a local address; repeatable (default: ${DEFAULT-VALUE}).")
  List<String> publicListeners;

  @Option(names = "--gateway-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7443",
      converter = Flags.HostPortConverter.class, description = "Where nodes connect (default: ${DEFAULT-VALUE}).")
  HostPort gatewayListen;

  @Option(names = "--admin-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:7080",
      converter = Flags.HostPortConverter.class, description = "Admin REST API (default: ${DEFAULT-VALUE}).")
  HostPort adminListen;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", converter = Flags.HostPortConverter.class,
      description = "Serve /metrics, /health and /ready here (off unless given).")
  HostPort metricsListen;

  @Option(names = "--no-access-log",
      description = "Do not log one line per connection, routed or refused (logger funnel.access).")
  boolean noAccessLog;

  @Option(names = "--clienthello-timeout-ms", defaultValue = "10000", paramLabel = "MILLIS",
      description = "A client must send its whole ClientHello within this (default: ${DEFAULT-VALUE}).")
  long clientHelloTimeoutMillis;

  @Option(names = "--event-loops", paramLabel = "N", defaultValue = "0",
      description = "Threads that carry tunnel bytes (the data plane's event loops) (default: one per core).")
  int eventLoops;

  @Mixin
  LimitFlags limits;

  @Mixin
  ConsoleLoginFlags consoleLogin;

  @Mixin
  DnsFlags dns;

  @Mixin
  LogFlags log;

  @Override
  public Integer call() {
    return config == null ? start() : withConfig(System.getenv()).start();
  }

  /** This command's settings with {@code --config}: the file's, under the environment's, under the flags given. */
  ServerCommand withConfig(Map<String, String> environment) {
    return ServiceConfig.parseInto(spec, new ServerCommand(), environment);
  }

  private int start() {
    String base = Preflight.domain("--domain", domain);
    ServerStack.Settings settings = new ServerStack.Settings(state, base,
        Flags.publicListeners(publicListeners), gatewayListen, adminListen, metricsListen, !noAccessLog,
        clientHelloTimeoutMillis, limits, consoleLogin::applyTo);
    DataPlane.configure(Flags.eventLoops(eventLoops));
    try {
      // A wrong limit (--max-connections 0, --drain-timeout-s -1) or --console-* flag is a usage error too.
      limits.applyTo(new dev.funnel.common.options.FrontendOptions());
      limits.applyTo(new dev.funnel.common.options.GatewayOptions());
      consoleLogin.applyTo(new dev.funnel.common.options.RegistryOptions());
      // A wrong --dns-push* flag (or an unreadable secret file) is a usage error, found before anything starts.
      dns.pushOptions(settings.domain());
    } catch (IllegalArgumentException e) {
      System.err.println("funnel server: " + e.getMessage());
      return 2;
    }
    // Checked before anything is created: a busy port or a locked state leaves no state behind.
    Preflight.free(settings.publicListeners());
    Preflight.serverStart(gatewayListen, adminListen, metricsListen, dns.listen, state);
    Vertx vertx = FunnelVertx.local();
    Processes.closeOnShutdown(vertx, "server");
    ServerStack stack = Processes.startOrExit(vertx, "server", () -> ServerStack.start(vertx, settings));
    dns.defaultFrontends(settings.publicListeners().values());
    String dnsLine = Processes.startOrExit(vertx, "server", () -> DnsCommand.startInServer(vertx, dns, settings.domain()));
    Processes.drainOnStop("the gateway's drain", settings.limits().frontend.drainTimeoutSeconds, () -> { },
        stack::drainGateway);
    System.out.println(stack.readyLine() + dnsLine);
    System.out.flush();
    Processes.awaitShutdown();
    return 0;
  }
}
