package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.terminator.auth.LoginSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;

class LoginFlagsTest {

  @TempDir
  Path dir;

  static final class Holder {
    @Mixin
    LoginFlags login;
  }

  LoginSettings parse(String... args) {
    Holder holder = new Holder();
    new CommandLine(holder).parseArgs(args);
    return holder.login.settings(dir);
  }

  @Test
  void providerAllowListsAndSkipsFromFlags() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "s\n");
    LoginSettings s = parse("--oidc-issuer", "https://id.example.com/", "--oidc-client-id", "funnel",
        "--oidc-secret-file", secret.toString(), "--oidc-session", "30m",
        "--allow-email", "A@x.org,b@y.org", "--allow-email", "c@z.org", "--allow-domain", "corp.example",
        "--allow-group", "admins", "--auth-skip", "/webhooks/");
    assertThat(s.oidc().issuer()).isEqualTo("https://id.example.com");
    assertThat(s.oidc().clientId()).isEqualTo("funnel");
    assertThat(s.oidc().secretFile()).isEqualTo(secret.toString());
    assertThat(s.oidc().sessionTtl()).isEqualTo(Duration.ofMinutes(30));
    assertThat(s.nodeWide().allowEmails()).containsExactly("a@x.org", "b@y.org", "c@z.org");
    assertThat(s.nodeWide().allowDomains()).containsExactly("corp.example");
    assertThat(s.nodeWide().allowGroups()).containsExactly("admins");
    assertThat(s.nodeWide().skipPaths()).containsExactly("/webhooks/");
    assertThat(s.stateDir()).isEqualTo(dir);
  }

  @Test
  void nothingGivenIsNoProvider() {
    LoginSettings s = parse();
    assertThat(s.oidc()).isNull();
    assertThat(s.nodeWide().any()).isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--oidc-client-id x                                  | need --oidc-issuer",
      "--oidc-issuer https://id.example.com                | --oidc-client-id is missing",
      "--oidc-issuer ftp://x --oidc-client-id x            | bad --oidc-issuer",
      "--oidc-issuer https://i.example --oidc-client-id x --oidc-secret-file /nonexistent/s | cannot read it",
      "--allow-email a@x.org                               | are for --auth …=oidc",
      "--oidc-session 12h                                  | --oidc-session needs --oidc-issuer",
      "--oidc-issuer https://i.example --oidc-client-id x --oidc-session soon | bad --oidc-session 'soon'",
      "--oidc-issuer https://i.example --oidc-client-id x --allow-email bob | bad --allow-email 'bob'",
      "--auth-skip webhooks                                | bad --auth-skip"})
  void badValuesAreOneLineUsageErrors(String args, String message) {
    assertThatThrownBy(() -> parse(args.split(" ")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
  }

  @ParameterizedTest
  @CsvSource({"90s, PT1M30S", "30m, PT30M", "12h, PT12H", "7d, PT168H", "PT2H, PT2H"})
  void durations(String text, String iso) {
    assertThat(LoginFlags.duration(text)).isEqualTo(Duration.parse(iso));
  }

  @Test
  void keysNameEveryFlag() {
    assertThat(new CommandLine(new Holder()).getCommandSpec().options())
        .allSatisfy(o -> assertThat(LoginFlags.KEYS).contains(o.longestName().substring(2)));
    assertThat(List.copyOf(LoginFlags.KEYS)).hasSize(8);
  }
}
