package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The provider flags' shared rules, under both spellings: the whole message, so a prefix left out fails. */
class OidcProviderFlagsTest {

  static final String ISSUER = "https://login.example.com/realm/";

  @Test
  void givenIsAnyOfTheThree() {
    assertThat(OidcProviderFlags.given(null, null, null)).isFalse();
    assertThat(OidcProviderFlags.given(ISSUER, null, null)).isTrue();
    assertThat(OidcProviderFlags.given(null, "id", null)).isTrue();
    assertThat(OidcProviderFlags.given(null, null, "/secret")).isTrue();
  }

  @Test
  void usageErrorsNameTheFlagsWithTheCallersPrefix(@TempDir Path dir) {
    record Row(String prefix, String issuer, String secret, String message) {
    }
    String none = dir.resolve("none").toString();
    for (Row row : List.of(
        new Row("oidc-", null, null,
            "--oidc-client-id and --oidc-secret-file need --oidc-issuer URL (the provider's issuer)"),
        new Row("console-oidc-", null, none,
            "--console-oidc-client-id and --console-oidc-secret-file need --console-oidc-issuer URL (the provider's issuer)"),
        new Row("oidc-", ISSUER, none, "--oidc-secret-file " + none + ": cannot read it; give a file holding the client secret"),
        new Row("console-oidc-", ISSUER, none,
            "--console-oidc-secret-file " + none + ": cannot read it; give a file holding the client secret"))) {
      assertThatThrownBy(() -> OidcProviderFlags.check(row.prefix(), row.issuer(), row.secret()))
          .as(row.toString()).isInstanceOf(IllegalArgumentException.class).hasMessage(row.message());
    }
  }

  @Test
  void anIssuerWithAReadableSecretOrNonePasses(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "s\n");
    assertThatNoException().isThrownBy(() -> OidcProviderFlags.check("oidc-", ISSUER, secret.toString()));
    assertThatNoException().isThrownBy(() -> OidcProviderFlags.check("oidc-", ISSUER, null));
  }

  @Test
  void optionsErrorsAreRespelledOnlyForAnotherPrefix() {
    assertThatThrownBy(() -> OidcProviderFlags.options("oidc-", ISSUER, null, null))
        .hasMessageStartingWith("--oidc-client-id is missing");
    assertThatThrownBy(() -> OidcProviderFlags.options("console-oidc-", "ftp://x", "id", null))
        .hasMessageStartingWith("bad --console-oidc-issuer 'ftp://x'");
    assertThat(OidcProviderFlags.options("console-oidc-", ISSUER, "id", null).clientId()).isEqualTo("id");
  }
}
