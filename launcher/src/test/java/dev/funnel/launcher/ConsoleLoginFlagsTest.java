package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.options.RegistryOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The console's OpenID Connect flags: what they set, and each usage error naming its flag. */
class ConsoleLoginFlagsTest {

  static final String ISSUER = "https://login.example.com/realm/";

  @Test
  void noFlagsLeaveTokenSignInOnly() {
    RegistryOptions o = ConsoleLoginFlags.apply(new RegistryOptions(), null, null, null, null);
    assertThat(o.getConsoleOidc()).isNull();
    assertThat(o.getConsoleAllowEmails()).isEmpty();
  }

  @Test
  void aProviderAndAnAllowListAreSet(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "s\n");
    RegistryOptions o = ConsoleLoginFlags.apply(new RegistryOptions(), ISSUER, "console", secret.toString(),
        List.of("Alice@Example.com,bob@example.com", "carol@example.com"));
    assertThat(o.getConsoleOidc().issuer()).isEqualTo("https://login.example.com/realm");
    assertThat(o.getConsoleOidc().clientId()).isEqualTo("console");
    assertThat(o.getConsoleAllowEmails()).containsExactly("alice@example.com", "bob@example.com", "carol@example.com");
  }

  @Test
  void incompleteOrWrongFlagsAreUsageErrorsNamingTheFlag(@TempDir Path dir) {
    record Row(String issuer, String clientId, String secret, List<String> emails, String message) {
    }
    for (Row row : List.of(
        new Row(null, null, null, List.of("a@example.com"), "--console-allow-email needs --console-oidc-issuer"),
        new Row(null, "console", null, List.of("a@example.com"), "need --console-oidc-issuer URL"),
        new Row(ISSUER, "console", null, null, "--console-oidc-issuer needs --console-allow-email"),
        new Row(ISSUER, null, null, List.of("*"), "--console-oidc-client-id is missing"),
        new Row("ftp://x", "console", null, List.of("*"), "bad --console-oidc-issuer 'ftp://x'"),
        new Row(ISSUER, "console", dir.resolve("none").toString(), List.of("*"),
            "--console-oidc-secret-file " + dir.resolve("none") + ": cannot read it"))) {
      assertThatThrownBy(() -> ConsoleLoginFlags.apply(new RegistryOptions(), row.issuer(), row.clientId(), row.secret(),
          row.emails())).as(row.toString()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(row.message());
    }
  }
}
