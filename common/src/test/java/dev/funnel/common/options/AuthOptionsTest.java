package dev.funnel.common.options;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AuthOptionsTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "oidc                                  | true  | -              | -",
      "OIDC                                  | true  | -              | -",
      "basic:/etc/htpasswd                   | false | /etc/htpasswd  | -",
      "bearer:/etc/tokens                    | false | -              | /etc/tokens",
      "oidc,bearer:/etc/tokens               | true  | -              | /etc/tokens",
      "oidc, basic:/h , bearer:/t            | true  | /h             | /t"})
  void parsesMethods(String value, boolean oidc, String htpasswd, String tokens) {
    AuthOptions a = AuthOptions.parse(value);
    assertThat(a.oidc()).isEqualTo(oidc);
    assertThat(a.htpasswdFile()).isEqualTo(htpasswd.equals("-") ? null : htpasswd);
    assertThat(a.tokensFile()).isEqualTo(tokens.equals("-") ? null : tokens);
    assertThat(AuthOptions.fromJson(a.toJson())).isEqualTo(a);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''                   | needs a method",
      "password             | use oidc, basic:HTPASSWD_FILE",
      "basic                | basic needs a file",
      "basic:               | basic needs a file",
      "bearer               | bearer needs a file",
      "oidc:/x              | oidc takes no file",
      "basic:/a,basic:/b    | two basic files"})
  void refusesBadMethods(String value, String message) {
    assertThatThrownBy(() -> AuthOptions.parse(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "email  | alice                | bad --allow-email 'alice'",
      "email  | a@b@c                | bad --allow-email",
      "email  | bob@                 | bad --allow-email",
      "domain | a@example.com        | bad --allow-domain",
      "domain | localhost            | bad --allow-domain",
      "skip   | webhooks/            | bad --auth-skip 'webhooks/'",
      "skip   | /a/../b              | bad --auth-skip"})
  void refusesBadAllowEntries(String kind, String value, String message) {
    AuthOptions a = AuthOptions.parse("oidc");
    assertThatThrownBy(() -> {
      switch (kind) {
        case "email" -> a.withAllowEmails(List.of(value));
        case "domain" -> a.withAllowDomains(List.of(value));
        default -> a.withSkipPaths(List.of(value));
      }
    }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
  }

  @Test
  void normalisesAllowEntries() {
    AuthOptions a = AuthOptions.parse("oidc")
        .withAllowEmails(AuthOptions.csv("Alice@Example.COM, bob@x.org,,"))
        .withAllowDomains(AuthOptions.csv("@Example.org"))
        .withAllowGroups(List.of("admins"))
        .withSkipPaths(List.of("/webhooks/"));
    assertThat(a.allowEmails()).containsExactly("alice@example.com", "bob@x.org");
    assertThat(a.allowDomains()).containsExactly("example.org");
    assertThat(a.describe()).isEqualTo("oidc allow-email=alice@example.com,bob@x.org allow-domain=example.org"
        + " allow-group=admins skip=/webhooks/");
    assertThat(AuthOptions.fromJson(a.toJson())).isEqualTo(a);
  }

  @Test
  void oidcNeedsAProviderAndAnAllowList() {
    OidcOptions provider = OidcOptions.of("https://id.example.com/", "funnel", "/etc/secret");
    assertThat(AuthOptions.parse("oidc").validate(null)).contains("--oidc-issuer");
    assertThat(AuthOptions.parse("oidc").validate(provider)).contains("--allow-email");
    assertThat(AuthOptions.parse("oidc").withAllowEmails(List.of("*")).validate(provider)).isNull();
    assertThat(AuthOptions.parse("basic:/h").validate(null)).isNull();
    assertThat(AuthOptions.none().validate(null)).contains("needs a method");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "https://id.example.com/                                   | https://id.example.com",
      "https://id.example.com/realms/x/.well-known/openid-configuration | https://id.example.com/realms/x",
      "http://127.0.0.1:8080/default                             | http://127.0.0.1:8080/default"})
  void normalisesTheIssuer(String issuer, String expected) {
    OidcOptions o = OidcOptions.of(issuer, "id", null);
    assertThat(o.issuer()).isEqualTo(expected);
    assertThat(o.scopes()).contains("openid");
    assertThat(OidcOptions.fromJson(o.toJson())).isEqualTo(o);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''                    | id | --oidc-issuer is missing",
      "id.example.com        | id | bad --oidc-issuer",
      "ftp://id.example.com  | id | bad --oidc-issuer",
      "https://x/?a=b        | id | no query",
      "https://id.example.com| '' | --oidc-client-id is missing"})
  void refusesBadProviders(String issuer, String clientId, String message) {
    assertThatThrownBy(() -> OidcOptions.of(issuer, clientId, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
  }

  @Test
  void sessionTtlMustBePositive() {
    OidcOptions o = OidcOptions.of("https://id.example.com", "id", null);
    assertThat(o.withSessionTtl(Duration.ofMinutes(5)).sessionTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThatThrownBy(() -> o.withSessionTtl(Duration.ZERO)).hasMessageContaining("--oidc-session");
  }
}
