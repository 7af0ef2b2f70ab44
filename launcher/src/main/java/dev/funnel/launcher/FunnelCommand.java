package dev.funnel.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code funnel} command: every service alone or together, the node, the admin client, the demo. */
@Command(name = "funnel", mixinStandardHelpOptions = true, versionProvider = FunnelCommand.Version.class,
    description = {
        "Funnel: a public ingress for private machines.",
        "A node behind NAT dials out to a gateway; public TLS clients reach it by name through a",
        "frontend that reads the SNI and never terminates TLS."},
    subcommands = {
        ServerCommand.class,
        FrontendCommand.class,
        RegistryCommand.class,
        GatewayCommand.class,
        DnsCommand.class,
        NodeCommand.class,
        AdminCommand.class,
        DemoCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Start here:  funnel demo        (everything in one JVM, with a working curl line)",
        "Then:        funnel server --help, funnel node --help, funnel admin --help"})
public final class FunnelCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    Logging.configure();
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    return new CommandLine(new FunnelCommand()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = FunnelCommand.class.getPackage().getImplementationVersion();
      return new String[] {"funnel " + (version == null ? "development build" : version)};
    }
  }
}
