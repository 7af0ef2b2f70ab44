package dev.funnel.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code funnel} command: every service alone or together, the node, the admin client, the demo. */
@Command(name = "funnel", mixinStandardHelpOptions = true, versionProvider = FunnelCommand.Version.class,
    description = {
        "Funnel: a public ingress for private machines.",
        "A node behind NAT dials out to a gateway; public TLS clients reach it by name through a frontend that reads"
            + " the SNI and never terminates TLS."},
    subcommands = {
        ServerCommand.class,
        FrontendCommand.class,
        RegistryCommand.class,
        GatewayCommand.class,
        DnsCommand.class,
        NodeCommand.class,
        StatusCommand.class,
        CertCommand.class,
        AdminCommand.class,
        DemoCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Start here:  funnel demo        (everything in one JVM, with a working curl line)",
        "Then:        funnel server --help, funnel node --help, funnel admin --help"})
public final class FunnelCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** Help is laid out for this many columns, so descriptions and footers wrap between words. */
  static final int USAGE_WIDTH = 110;

  /**
   * Netty's JFR events (its buffer allocator's) off unless asked for with
   * {@code -Dio.netty.jfr.enabled=true}: looking for JFR loads ~100 of the JDK's JFR classes, 1–2 MiB
   * of an idle process (bench/README.md, "Footprint"), and the events are off in JFR's own settings.
   */
  static final String NETTY_JFR = "io.netty.jfr.enabled";

  public static void main(String[] args) {
    if (System.getProperty(NETTY_JFR) == null) {
      System.setProperty(NETTY_JFR, "false");
    }
    if (System.getProperty("java.util.logging.manager") == null) {
      System.setProperty("java.util.logging.manager", StopLogManager.class.getName());
    }
    Logging.configure(Logging.Settings.fromArgs(args));
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    return new CommandLine(new FunnelCommand())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setUsageHelpWidth(USAGE_WIDTH)
        .setExecutionExceptionHandler(FunnelCommand::failed);
  }

  /**
   * A command that throws prints one line, {@code funnel COMMAND: why}, and exits 2 for a usage
   * error (a bad flag value: {@link IllegalArgumentException}) or 1 for anything else; the stack
   * trace only with {@code --debug}.
   */
  private static int failed(Exception e, CommandLine commandLine, CommandLine.ParseResult parsed) {
    String command = commandLine.getCommandSpec().qualifiedName();
    commandLine.getErr().println(command + ": " + Processes.describe(e));
    if (Logging.settings().debug()) {
      e.printStackTrace(commandLine.getErr());
    }
    commandLine.getErr().flush();
    if (e instanceof Processes.Failure f) {
      return f.exitCode;
    }
    return e instanceof IllegalArgumentException ? 2 : 1;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = FunnelCommand.class.getPackage().getImplementationVersion();
      return new String[] {"funnel " + (version == null ? "(version unknown: not run from the built jar)" : version)};
    }
  }
}
