package dev.funnel.launcher;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
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
public final class FunnelCommand implements Callable<Integer> {

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
    CommandLine line = new CommandLine(new FunnelCommand())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setUsageHelpWidth(USAGE_WIDTH)
        .setParameterExceptionHandler(FunnelCommand::usageError)
        .setExecutionExceptionHandler(FunnelCommand::failed);
    withVersion(line);
    return line;
  }

  /**
   * Every command that offers {@code -V/--version} prints {@code funnel VERSION}: picocli gives a
   * subcommand's version option its own (empty) version, not its parent's.
   */
  private static void withVersion(CommandLine line) {
    CommandLine.Model.CommandSpec spec = line.getCommandSpec();
    if (spec.versionProvider() == null && spec.version().length == 0) {
      spec.versionProvider(new Version());
    }
    line.getSubcommands().values().forEach(FunnelCommand::withVersion);
  }

  /**
   * A usage error found by picocli (or thrown as a ParameterException by a command's own checks):
   * one line, {@code funnel COMMAND: why}, a hint where the help is, exit 2; not the whole help.
   */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine command = e.getCommandLine();
    String name = command.getCommandSpec().qualifiedName();
    PrintWriter err = command.getErr();
    String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip().replaceAll("\\R+", "; ");
    err.println(name + ": " + why);
    List<String> suggestions = e instanceof CommandLine.UnmatchedArgumentException unmatched
        ? unmatched.getSuggestions() : List.of();
    err.println("(" + (suggestions.isEmpty() ? "" : "did you mean "
        + String.join(" or ", suggestions.subList(0, Math.min(3, suggestions.size()))) + "? ")
        + "see: " + name + " --help)");
    if (Logging.settings().debug()) {
      e.printStackTrace(err);
    }
    err.flush();
    return USAGE_ERROR;
  }

  /** The exit code of a usage error. */
  static final int USAGE_ERROR = 2;

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

  /** {@code funnel} alone: the usage on stderr and exit 2, as for any missing subcommand; {@code funnel --help} exits 0. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    spec.commandLine().getErr().flush();
    return USAGE_ERROR;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = FunnelCommand.class.getPackage().getImplementationVersion();
      return new String[] {"funnel " + (version == null ? "(version unknown: not run from the built jar)" : version)};
    }
  }
}
