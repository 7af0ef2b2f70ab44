package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.launcher.AdminTailnetCommand.OnOff;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;
import picocli.CommandLine.TypeConversionException;

/** The pure parts of {@code funnel admin}: value parsing, tables, help. No server. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AdminParsingTest {

  @ParameterizedTest
  @CsvSource({"90s,90", "30m,1800", "24h,86400", "7d,604800", "1d,86400", " 2h ,7200"})
  void expiryDurations(String text, long seconds) {
    assertThat(AdminKeyCommand.parseExpiry(text)).isEqualTo(Duration.ofSeconds(seconds));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "h", "24", "0h", "-1h", "1w", "1.5h", "24H", "1h30m", "09h", "9999999999d"})
  void badExpiries(String text) {
    assertThatThrownBy(() -> AdminKeyCommand.parseExpiry(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("like 90s, 30m, 24h or 7d");
  }

  @Test
  void funnelIsOnOrOffExactly() {
    AdminTailnetCommand.OnOffConverter converter = new AdminTailnetCommand.OnOffConverter();
    assertThat(converter.convert("on")).isEqualTo(OnOff.ON);
    assertThat(converter.convert("off")).isEqualTo(OnOff.OFF);
    for (String bad : List.of("true", "false", "yes", "ON", "Off", "1", "")) {
      assertThatThrownBy(() -> converter.convert(bad)).isInstanceOf(TypeConversionException.class)
          .hasMessage("expected on or off, got '" + bad + "'");
    }
  }

  @Test
  void portsAreFunnelPortsSorted() {
    AdminTailnetCommand.PortsConverter converter = new AdminTailnetCommand.PortsConverter();
    assertThat(converter.convert("10000,443,8443,443").values()).containsExactly(443, 8443, 10000);
    assertThatThrownBy(() -> converter.convert("80")).hasMessageContaining("port 80 is not a Funnel port");
    assertThatThrownBy(() -> converter.convert("443,abc")).hasMessageContaining("not a port: abc");
    assertThatThrownBy(() -> converter.convert(" , ")).hasMessageContaining("no ports given");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://127.0.0.1:7080", "https://admin.example:443/", "http://[::1]:7080",
      "http://proxy/funnel"})
  void goodUrls(String url) {
    assertThat(ApiClient.parseUrl(url).getHost()).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1:7080", "ftp://host", "http://", "http://host/?q=1", "not a url", "http:/x"})
  void badUrls(String url) {
    assertThatThrownBy(() -> ApiClient.parseUrl(url)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void pathSegmentsAreEncoded() {
    assertThat(ApiClient.segment("web.demo")).isEqualTo("web.demo");
    assertThat(ApiClient.segment("a b/c?d")).isEqualTo("a%20b%2Fc%3Fd");
  }

  @Test
  void tablesAlignColumnsTwoSpacesApart() {
    StringWriter out = new StringWriter();
    new AdminTable("NAME", "FUNNEL", "PORTS").row("demo-long-name", "on", "443").row("x", null, "8443,10000")
        .print(new PrintWriter(out, true));
    assertThat(out.toString()).isEqualTo("""
        NAME            FUNNEL  PORTS
        demo-long-name  on      443
        x               -       8443,10000
        """);
  }

  @Test
  void timesAreShownToTheSecond() {
    assertThat(AdminTable.time("2026-11-21T09:30:00.123456Z", "never")).isEqualTo("2026-11-21T09:30:00Z");
    assertThat(AdminTable.time(null, "never")).isEqualTo("never");
    assertThat(AdminTable.time("garbage", "-")).isEqualTo("garbage");
  }

  @Test
  void keyStates() {
    Instant now = Instant.parse("2026-11-21T10:00:00Z");
    JsonObject usable = new JsonObject().put("reusable", false).put("expiresAt", "2026-11-22T10:00:00Z");
    assertThat(AdminKeyCommand.state(usable, now)).isEqualTo("usable");
    assertThat(AdminKeyCommand.state(usable.copy().put("expiresAt", "2026-11-21T10:00:00Z"), now)).isEqualTo("expired");
    assertThat(AdminKeyCommand.state(usable.copy().put("usedAt", "2026-11-21T09:00:00Z"), now)).isEqualTo("used");
    assertThat(AdminKeyCommand.state(usable.copy().put("reusable", true).put("usedAt", "2026-11-21T09:00:00Z"), now))
        .as("a reusable key stays usable after use").isEqualTo("usable");
    assertThat(AdminKeyCommand.state(usable.copy().put("usedAt", "x").put("revokedAt", "2026-11-21T09:30:00Z"), now))
        .isEqualTo("revoked");
  }

  static Stream<List<String>> commands() {
    return Stream.of(List.of(), List.of("tailnet"), List.of("tailnet", "add"), List.of("tailnet", "list"),
        List.of("tailnet", "set"), List.of("tailnet", "rm"), List.of("key"), List.of("key", "add"),
        List.of("key", "list"), List.of("key", "rm"), List.of("node"), List.of("node", "list"),
        List.of("node", "rm"));
  }

  @ParameterizedTest
  @MethodSource("commands")
  void everyCommandHasHelpWithExamples(List<String> command) {
    List<String> args = new ArrayList<>(command);
    args.add("--help");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new AdminCommand(Map.of())).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(args.toArray(String[]::new));
    assertThat(exit).isZero();
    assertThat(err.toString()).isEmpty();
    assertThat(out.toString()).startsWith(("Usage: admin " + String.join(" ", command)).trim() + " [-hV]")
        .contains("Example").contains("  funnel admin " + (command.isEmpty() ? "" : command.get(0)));
  }
}
