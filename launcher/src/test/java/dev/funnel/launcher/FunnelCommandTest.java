package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The command line as a user meets it, through {@link FunnelCommand#commandLine()}: a usage error is
 * one line and a hint (exit 2), never the whole help; every {@code -V} prints the version; every
 * option that takes a value shows what to write.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FunnelCommandTest {

  @TempDir
  Path tmp;

  record Run(int exit, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }
  }

  /** Runs {@code funnel ARGS}; what goes to System.err too (the clustered services print there). */
  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    PrintStream systemErr = System.err;
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    int exit;
    System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
    try {
      exit = FunnelCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    } finally {
      System.setErr(systemErr);
    }
    return new Run(exit, out.toString(), err + stderr.toString(StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "node --server 127.0.0.1:22744          | funnel node: Missing required options: '--hostname=NAME'",
      "admin tailnet add x --ports 80         | funnel admin tailnet add: Invalid value for option '--ports': port 80",
      "node serve add 443=htp://x:1 --state N | funnel node serve add: 443=htp://x:1: bad target 'htp://x:1'",
      "node serve add 443 --state N           | funnel node serve add: expected PORT[:/PATH]=TARGET",
      "node serve rm 80 --state N             | funnel node serve rm: 80: public port 80 is not a Funnel port",
      "server --bogus                         | funnel server: Unknown option: '--bogus'",
      "demo --public nowhere                  | funnel demo: Invalid value for option '--public': expected HOST:PORT",
      "status extra                           | funnel status: Unmatched argument at index 1: 'extra'",
      "admin                                  | funnel admin: Missing required subcommand",
      "gateway --cluster-port                 | funnel gateway: Missing required parameter for option '--cluster-port'",
      "--bogus                                | funnel: Unknown option: '--bogus'"})
  void aUsageErrorIsOneLineAndAHintAndExit2(String args, String first) {
    Run r = run(args.split(" "));
    String command = first.substring(0, first.indexOf(':'));
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.out()).isEmpty();
    assertThat(r.errLines()).as(r.err()).hasSize(2);
    assertThat(r.errLines().get(0)).startsWith(first);
    assertThat(r.errLines().get(1)).startsWith("(").endsWith("see: " + command + " --help)");
  }

  @Test
  void aMistypedFlagGetsASuggestion() {
    Run r = run("server", "--stat", "x");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.errLines()).containsExactly("funnel server: Unknown options: '--stat', 'x'",
        "(did you mean --state? see: funnel server --help)");
  }

  /** Every command and subcommand, as the words a user types after {@code funnel}. */
  static Stream<List<String>> commands() {
    List<List<String>> out = new ArrayList<>();
    collect(FunnelCommand.commandLine(), new ArrayList<>(), out);
    return out.stream();
  }

  private static void collect(CommandLine line, List<String> path, List<List<String>> out) {
    out.add(List.copyOf(path));
    line.getSubcommands().forEach((name, sub) -> {
      if (sub.getCommandSpec().name().equals(name)) {
        List<String> next = new ArrayList<>(path);
        next.add(name);
        collect(sub, next, out);
      }
    });
  }

  @ParameterizedTest
  @MethodSource("commands")
  void everyCommandAnswersAnUnknownFlagInTwoLines(List<String> command) {
    if (command.equals(List.of("help"))) {
      return; // picocli's help command shows the help of what follows it
    }
    List<String> args = new ArrayList<>(command);
    args.add("--no-such-flag");
    Run r = run(args.toArray(String[]::new));
    String name = String.join(" ", Stream.concat(Stream.of("funnel"), command.stream()).toList());
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.errLines()).as(r.err()).hasSize(2);
    // The unknown flag, or a missing argument picocli finds first.
    assertThat(r.errLines().get(0)).startsWith(name + ": ").containsAnyOf("--no-such-flag", "Missing required");
    assertThat(r.errLines().get(1)).endsWith("see: " + name + " --help)");
  }

  @ParameterizedTest
  @MethodSource("commands")
  void everyDashVPrintsTheVersion(List<String> command) {
    CommandSpec spec = spec(command);
    if (spec.optionsMap().get("-V") == null) {
      return;
    }
    for (String flag : List.of("-V", "--version")) {
      List<String> args = new ArrayList<>(command);
      args.add(flag);
      Run r = run(args.toArray(String[]::new));
      assertThat(r.exit()).as(String.join(" ", args)).isZero();
      assertThat(r.out()).as(String.join(" ", args)).startsWith("funnel ").hasLineCount(1);
    }
  }

  @ParameterizedTest
  @MethodSource("commands")
  void everyOptionThatTakesAValueNamesIt(List<String> command) {
    for (OptionSpec option : spec(command).options()) {
      if (option.arity().max() > 0) {
        assertThat(option.paramLabel()).as(String.join(" ", command) + " " + option.longestName())
            .doesNotStartWith("<");
      }
    }
  }

  private static CommandSpec spec(List<String> command) {
    CommandLine line = FunnelCommand.commandLine();
    for (String name : command) {
      line = line.getSubcommands().get(name);
    }
    return line.getCommandSpec();
  }

  @Test
  void funnelAloneIsAUsageErrorButHelpIsNot() {
    Run alone = run();
    assertThat(alone.exit()).isEqualTo(2);
    assertThat(alone.out()).isEmpty();
    assertThat(alone.err()).startsWith("Usage: funnel").contains("funnel demo");

    Run help = run("--help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).startsWith("Usage: funnel");
    assertThat(help.err()).isEmpty();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "server   | Bad_Domain",
      "server   | -x.example",
      "demo     | Bad_Domain",
      "registry | bad_domain",
      "frontend | 'a b.example'",
      "dns      | example..com"})
  void aBadDomainStopsBeforeAnythingIsCreated(String command, String domain) {
    Path state = tmp.resolve("state");
    List<String> args = new ArrayList<>(List.of(command, "--domain", domain, "--state", state.toString()));
    if (!command.equals("server") && !command.equals("demo")) {
      args.add("--cluster");
    }
    Run r = run(args.toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.errLines()).as(r.err()).hasSize(1);
    assertThat(r.errLines().get(0)).startsWith("funnel " + command + ": --domain " + domain + ": not a domain name")
        .endsWith("pick another with --domain DOMAIN");
    assertThat(state).doesNotExist();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--acme-ca /no/such.pem                                  | --acme-ca needs --acme-directory",
      "--acme-directory http://127.0.0.1:1/dir                 | is not an https:// URL",
      "--acme-directory https://127.0.0.1:1/dir --acme-ca /no/such.pem | --acme-ca /no/such.pem: no such file"})
  void aBadDemoAcmeFlagStopsBeforeTheStateIsMade(String flags, String why) {
    Path state = tmp.resolve("state");
    List<String> args = new ArrayList<>(List.of("demo", "--state", state.toString()));
    args.addAll(List.of(flags.split(" ")));
    Run r = run(args.toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).startsWith("funnel demo: ").contains(why);
    assertThat(state).doesNotExist();
  }

  @Test
  void theServerTakesItsSettingsFromAConfigFileToo() throws Exception {
    Path state = tmp.resolve("state");
    Path file = Files.writeString(tmp.resolve("server.yaml"), "domain: Bad_Domain\nstate: " + state + "\n");
    Run bad = run("server", "--config", file.toString());
    assertThat(bad.exit()).as(bad.err()).isEqualTo(2);
    assertThat(bad.err()).startsWith("funnel server: --domain Bad_Domain: not a domain name");
    assertThat(state).doesNotExist();

    Path typo = Files.writeString(tmp.resolve("typo.yaml"), "domian: funnel.example.com\n");
    Run unknown = run("server", "--config", typo.toString());
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err()).startsWith("funnel server: unknown setting 'domian' in " + typo)
        .contains("e.g. state)");

    Path badValue = Files.writeString(tmp.resolve("value.yaml"), "admin-listen: 443=127.0.0.1:1\n");
    Run value = run("server", "--config", badValue.toString());
    assertThat(value.exit()).isEqualTo(2);
    assertThat(value.errLines().get(0)).startsWith("funnel server: Invalid value for option '--admin-listen':"
        + " expected HOST:PORT; '=' cannot be in a host name").contains("(from " + badValue);
  }

  @Test
  void theNodesUnknownSettingExampleIsANodeSetting() throws Exception {
    Path file = Files.writeString(tmp.resolve("node.yaml"), "cluster-host: 10.0.0.1\n");
    Run r = run("node", "--config", file.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).startsWith("funnel node: unknown setting 'cluster-host'").contains("e.g. server)");
  }

  @Test
  void aGateFileTheGateCannotUseStopsTheNodeBeforeItStarts() throws Exception {
    Path apr1 = Files.writeString(tmp.resolve("htpasswd"), "bob:$apr1$salt$hashhashhashhashhashha\n");
    Path empty = Files.writeString(tmp.resolve("secret"), "\n");
    Path state = tmp.resolve("node-state");
    for (String[] gate : new String[][] {{"--auth", "443=basic:" + apr1, "no bcrypt hash"},
        {"--verify", "443=github:" + empty, "secret file"}}) {
      Run r = run("node", "--server", "127.0.0.1:1", "--authkey", "k", "--hostname", "web", "--ca",
          tmp.resolve("ca.pem").toString(), "--state", state.toString(), "--funnel", "443=text:hi", gate[0], gate[1]);
      assertThat(r.exit()).as(r.err()).isEqualTo(2);
      assertThat(r.errLines()).as(r.err()).hasSize(1);
      assertThat(r.errLines().get(0)).startsWith("funnel node: " + gate[0] + " 443=").contains(gate[2]);
      assertThat(state).as("nothing created").doesNotExist();
    }
  }
}
