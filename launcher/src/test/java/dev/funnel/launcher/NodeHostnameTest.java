package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code funnel node --hostname}: the registry's label rule, checked before anything starts. */
class NodeHostnameTest {

  @TempDir
  Path tmp;

  @ParameterizedTest(name = "[{index}] ''{0}''")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      // given     | problem (a part of it), or - for none
      "web         | -",
      "a           | -",
      "web-1       | -",
      "0web        | -",
      "x23456789012345678901234567890123456789012345678901234567890123 | -",
      "x234567890123456789012345678901234567890123456789012345678901234 | not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end)",
      "my_web      | --hostname my_web: not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end)",
      "-web        | --hostname -web: not a DNS label",
      "web-        | --hostname web-: not a DNS label",
      "web.x       | not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end); give one label",
      "Web         | --hostname Web: not a DNS label ([a-z0-9-], 1-63 characters, no hyphen at either end); use lowercase: web",
      "MyBox       | ; use lowercase: mybox",
      "MY-BOX-2    | ; use lowercase: my-box-2",
      "My_Box      | --hostname My_Box: not a DNS label",
      "'\u212Aelvin' | not a DNS label",
      "''          | --hostname '': not a DNS label"})
  void problem(String given, String expected) {
    String problem = NodeHostname.problem(given);
    if (expected == null) {
      assertThat(problem).isNull();
    } else {
      assertThat(problem).contains(expected);
    }
    if (given.equals("My_Box") || given.equals("\u212Aelvin")) {
      assertThat(problem).as("no lower-case spelling to suggest").doesNotContain("lowercase");
    }
    if (given.equals("my_web")) {
      assertThat(problem).doesNotContain("one label").doesNotContain("lowercase");
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"my_web", "-web", "web.x", "MyBox"})
  void aBadHostnameIsOneLineAndExit2BeforeAnythingStarts(String name) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // The CA file does not exist: a name that passed would stop there instead.
    int exit = FunnelCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(List.of("node", "--server", "127.0.0.1:1", "--hostname", name, "--ca",
            tmp.resolve("no-ca.pem").toString(), "--state", tmp.resolve("state").toString(),
            "--funnel", "443=text:hi").toArray(String[]::new));
    assertThat(exit).as(err.toString()).isEqualTo(2);
    assertThat(err.toString().lines().toList()).as(err.toString()).hasSize(1);
    assertThat(err.toString()).startsWith("funnel node: --hostname " + name + ": not a DNS label");
  }
}
