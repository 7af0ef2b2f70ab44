package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code funnel node}'s serve flags and {@code --config} file, through picocli as a user runs them:
 * a bad spelling is one line naming the flag and exit 2, before anything is dialled.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NodeServeFlagsTest {

  @TempDir
  Path tmp;

  record Run(int exit, String out, String err) {
  }

  private static Run run(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = FunnelCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(args.toArray(String[]::new));
    return new Run(exit, out.toString(), err.toString());
  }

  /** The node's flags with a CA file that does not exist: a run that gets past the serve flags stops there. */
  private List<String> node(String... more) {
    List<String> args = new ArrayList<>(List.of("node", "--server", "127.0.0.1:1", "--hostname", "web",
        "--ca", tmp.resolve("no-ca.pem").toString(), "--state", tmp.resolve("state").toString()));
    args.addAll(List.of(more));
    return args;
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--funnel | 443:/api=tcp://127.0.0.1:9 | tcp:// takes a whole port",
      "--funnel | 443:api=http://127.0.0.1:9 | must start with /",
      "--funnel | 443=file://relative/dir | absolute directory",
      "--funnel | 443=file:///does/not/exist | does not exist",
      "--funnel | 443=redirect:nowhere | redirect: takes an absolute",
      "--rate-limit | 443:/x=20/s | has no route /x",
      "--rate-limit | 8443=20/s | port 8443 is not funnelled",
      "--allow-cidr | 443=10.0.0.1/8 | did you mean 10.0.0.0/8?",
      "--verify | 443=github | names no verifier",
      "--auth | 443=basic:/does/not/exist | does not exist"})
  void aBadServeFlagIsOneLineAndExit2(String flag, String value, String reason) {
    List<String> args = node("--funnel", "443=http://127.0.0.1:3000");
    if (flag.equals("--funnel")) {
      args = node("--funnel", value);
    } else {
      args.addAll(List.of(flag, value));
    }
    Run r = run(args);
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.err().lines().toList()).as(r.err()).hasSize(1);
    assertThat(r.err()).startsWith("funnel node: ").contains(reason);
  }

  @Test
  void goodServeFlagsGetPastTheParsing() throws Exception {
    Path site = Files.createDirectories(tmp.resolve("site"));
    Run r = run(node("--funnel", "443=file://" + site, "--funnel", "443:/api=http://127.0.0.1:3000",
        "--funnel", "443:/hello=text:hi", "--funnel", "8443=tcp://127.0.0.1:9443"));
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).as("stops at the missing CA, after the serve flags").contains("--ca");
  }

  @Test
  void aConfigFileGivesTheSameRoutes() throws Exception {
    Path site = Files.createDirectories(tmp.resolve("site"));
    Path yaml = tmp.resolve("node.yaml");
    Files.writeString(yaml, String.join("\n",
        "server: 127.0.0.1:1",
        "hostname: web",
        "ca: " + tmp.resolve("no-ca.pem"),
        "funnel:",
        "  - 443=file://" + site,
        "  - \"443:/say=text:hello, world\"",
        "  - 443:/missing=file:///does/not/exist",
        ""));
    Run r = run(List.of("node", "--config", yaml.toString(), "--state", tmp.resolve("state").toString()));
    assertThat(r.exit()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).as("the file's routes were read, commas and all").contains("443:/missing")
        .contains("does not exist");

    Files.writeString(yaml, String.join("\n",
        "server: 127.0.0.1:1",
        "hostname: web",
        "ca: " + tmp.resolve("no-ca.pem"),
        "funnel: [\"443=http://127.0.0.1:3000\"]",
        "allow-cidr: [\"443=10.0.0.0/8,192.0.2.0/33\"]",
        ""));
    Run bad = run(List.of("node", "--config", yaml.toString()));
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("--allow-cidr 443=10.0.0.0/8,192.0.2.0/33").contains("prefix length");

    Files.writeString(yaml, "funnels: [\"443=http://127.0.0.1:3000\"]\n");
    Run typo = run(List.of("node", "--config", yaml.toString()));
    assertThat(typo.exit()).isEqualTo(2);
    assertThat(typo.err()).contains("unknown setting 'funnels'");
  }
}
