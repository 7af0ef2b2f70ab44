package dev.funnel.terminator.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.options.AuthOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The login gate's pure parts: sealing, htpasswd, tokens, allow lists, skip prefixes, ID-token checks. */
class LoginPiecesTest {

  private static final byte[] KEY = new byte[32];
  private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

  // Made by glibc's libxcrypt (python3 crypt.crypt), not by Bouncy Castle: an independent implementation.
  private static final String HASH_2B = "$2b$10$abcdefghijklmnopqrstuu23JPZtHcGhwXSF41f93o/7vBdDut3Xu";
  private static final String HASH_2Y = "$2y$10$abcdefghijklmnopqrstuu23JPZtHcGhwXSF41f93o/7vBdDut3Xu";

  @Test
  void sealedCookieOpensOnlyForItsPurposeHostAndTime() {
    SealedCookie sealer = new SealedCookie(KEY);
    String value = sealer.seal(new JsonObject().put("e", "a@x.org"), "session", "web.example", NOW.plusSeconds(60));
    assertThat(sealer.open(value, "session", "web.example", NOW)).get()
        .satisfies(c -> assertThat(c.getString("e")).isEqualTo("a@x.org"));
    assertThat(value).doesNotContain("a@x.org");
    assertThat(sealer.open(value, "flow", "web.example", NOW)).isEmpty();
    assertThat(sealer.open(value, "session", "other.example", NOW)).isEmpty();
    assertThat(sealer.open(value, "session", "web.example", NOW.plusSeconds(60))).isEmpty();
    byte[] other = KEY.clone();
    other[0] = 1;
    assertThat(new SealedCookie(other).open(value, "session", "web.example", NOW)).isEmpty();
  }

  @Test
  void everyChangedByteOfASealedCookieIsRefused() {
    SealedCookie sealer = new SealedCookie(KEY);
    String value = sealer.seal(new JsonObject().put("n", "x"), "session", "h", NOW.plusSeconds(60));
    byte[] raw = Base64.getUrlDecoder().decode(value);
    for (int i = 0; i < raw.length; i++) {
      byte[] bad = raw.clone();
      bad[i] ^= 0x01;
      assertThat(sealer.open(Base64.getUrlEncoder().withoutPadding().encodeToString(bad), "session", "h", NOW))
          .as("byte %d flipped", i).isEmpty();
    }
    assertThat(sealer.open(value.substring(0, value.length() - 1), "session", "h", NOW)).isEmpty();
    assertThat(sealer.open("not base64 !", "session", "h", NOW)).isEmpty();
    assertThat(sealer.open("", "session", "h", NOW)).isEmpty();
    assertThat(sealer.open("A".repeat(5000), "session", "h", NOW)).isEmpty();
  }

  @Test
  void loginKeyIsMadeOnceWithMode0600(@TempDir Path dir) throws Exception {
    byte[] first = LoginKey.loadOrCreate(dir);
    Path file = dir.resolve(LoginKey.FILE_NAME);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThat(LoginKey.loadOrCreate(dir)).isEqualTo(first).hasSize(32);
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(file);
    }
    Files.writeString(file, "short");
    assertThatThrownBy(() -> LoginKey.loadOrCreate(dir)).hasMessageContaining("delete it");
  }

  @Test
  void htpasswdChecksBcryptMadeElsewhere() {
    Htpasswd file = Htpasswd.parse("users", List.of("# users", "", "alice:" + HASH_2B, "bob:" + HASH_2Y));
    assertThat(file.size()).isEqualTo(2);
    assertThat(file.verify("alice", "correct horse")).isTrue();
    assertThat(file.verify("bob", "correct horse")).isTrue();
    assertThat(file.verify("alice", "correct horse ")).isFalse();
    assertThat(file.verify("carol", "correct horse")).isFalse();
    assertThat(file.verify("alice", "x".repeat(100))).isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=  | only bcrypt",
      "alice:$apr1$abc$def                      | only bcrypt",
      "alice                                    | expected USER:HASH",
      ":$2y$10$abcdefghijklmnopqrstuu23JPZtHcGhwXSF41f93o/7vBdDut3Xu | expected USER:HASH"})
  void htpasswdRefusesWhatItCannotCheck(String line, String message) {
    assertThatThrownBy(() -> Htpasswd.parse("users", List.of(line)))
        .hasMessageContaining("users line 1").hasMessageContaining(message);
  }

  @Test
  void bearerTokensMatchWholeTokensOnly() {
    BearerTokens tokens = BearerTokens.parse("tokens", List.of("# ci", "ci 0123456789abcdef0123",
        "fedcba9876543210fedcba"));
    assertThat(tokens.size()).isEqualTo(2);
    assertThat(tokens.match("0123456789abcdef0123")).contains("ci");
    assertThat(tokens.match("fedcba9876543210fedcba")).contains("token-3");
    assertThat(tokens.match("0123456789abcdef012")).isEmpty();
    assertThat(tokens.match("0123456789abcdef01234")).isEmpty();
    assertThat(tokens.match("")).isEmpty();
    assertThatThrownBy(() -> BearerTokens.parse("tokens", List.of("short"))).hasMessageContaining("shorter than 16");
    assertThatThrownBy(() -> BearerTokens.parse("tokens", List.of("a b c"))).hasMessageContaining("line 1");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "alice@x.org   | true  | ''      | email",
      "ALICE@X.ORG   | true  | ''      | email",
      "bob@corp.com  | true  | ''      | domain",
      "bob@sub.corp.com | true | ''    | -",
      "bob@corp.com  | false | ''      | -",
      "eve@y.org     | true  | admins  | group",
      "eve@y.org     | true  | users   | -",
      "''            | true  | admins  | group"})
  void allowListMatchesEmailDomainOrGroup(String email, boolean verified, String group, String expected) {
    AuthOptions options = AuthOptions.parse("oidc").withAllowEmails(List.of("alice@x.org"))
        .withAllowDomains(List.of("corp.com")).withAllowGroups(List.of("admins"));
    JsonObject claims = new JsonObject().put("sub", "s").put("email_verified", verified)
        .put("groups", group.isEmpty() ? new JsonArray() : new JsonArray().add(group));
    if (!email.isEmpty()) {
      claims.put("email", email);
    }
    assertThat(AllowList.match(options, LoginUser.fromIdToken(claims)).orElse("-")).isEqualTo(expected);
  }

  @Test
  void starLetsInAnySignedInUser() {
    AuthOptions options = AuthOptions.parse("oidc").withAllowEmails(List.of("*"));
    assertThat(AllowList.match(options, LoginUser.fromIdToken(new JsonObject().put("sub", "x")))).contains("any");
  }

  @Test
  void loginUserSurvivesTheCookie() {
    LoginUser user = LoginUser.fromIdToken(new JsonObject().put("email", "A@X.org").put("name", "Alice")
        .put("groups", new JsonArray().add("g1").add(7).add("g2")));
    assertThat(user.email()).isEqualTo("a@x.org");
    assertThat(user.groups()).containsExactly("g1", "g2");
    assertThat(LoginUser.fromClaims(user.toClaims())).isEqualTo(user);
    assertThat(LoginUser.fromClaims(new JsonObject())).isNull();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/webhooks/    | /webhooks/github | true",
      "/webhooks/    | /webhooks        | true",
      "/webhooks/    | /webhooksx       | false",
      "/webhooks     | /webhooks/a      | true",
      "/webhooks     | /webhooks        | true",
      "/webhooks     | /webhooks2       | false",
      "/webhooks     | /                | false"})
  void skipPrefixesStopAtSegmentBoundaries(String prefix, String path, boolean skipped) {
    assertThat(LoginGate.underPrefix(path, prefix)).isEqualTo(skipped);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "alice@x.org          | alice@x.org",
      "José Müller          | =?utf-8?q?Jos=C3=A9_M=C3=BCller?=",
      "'evil\r\nX-Admin: 1' | =?utf-8?q?evil=0D=0AX-Admin=3A_1?=",
      "=?utf-8?q?x?=        | =?utf-8?q?=3D=3Futf-8=3Fq=3Fx=3F=3D?="})
  void userHeaderValuesAreSafe(String value, String header) {
    assertThat(UserHeaders.headerValue(value)).isEqualTo(header);
  }

  @Test
  void idTokenNeedsAudienceNonceAndTime() {
    JsonObject ok = new JsonObject().put("aud", "funnel").put("nonce", "n1").put("exp", NOW.getEpochSecond() + 300);
    assertThat(OidcLogin.checkIdToken(ok, "n1", "funnel", NOW)).isNull();
    assertThat(OidcLogin.checkIdToken(ok.copy().put("aud", new JsonArray().add("x").add("funnel")), "n1", "funnel", NOW))
        .isNull();
    assertThat(OidcLogin.checkIdToken(null, "n1", "funnel", NOW)).contains("failed verification");
    assertThat(OidcLogin.checkIdToken(ok.copy().put("aud", "other"), "n1", "funnel", NOW)).contains("not for client");
    assertThat(OidcLogin.checkIdToken(ok.copy().put("aud", null), "n1", "funnel", NOW)).contains("not for client");
    assertThat(OidcLogin.checkIdToken(ok, "n2", "funnel", NOW)).contains("nonce");
    assertThat(OidcLogin.checkIdToken(ok.copy().put("exp", NOW.getEpochSecond() - 61), "n1", "funnel", NOW))
        .contains("expired");
  }

  @Test
  void aSessionCookieNeverOutgrowsWhatBrowsersKeep() {
    OidcLogin login = new OidcLogin(null, dev.funnel.common.options.OidcOptions.of("https://id.example", "c", null),
        new SealedCookie(KEY), java.time.Clock.fixed(NOW, java.time.ZoneOffset.UTC));
    List<String> groups = new java.util.ArrayList<>();
    for (int i = 0; i < LoginUser.MAX_GROUPS; i++) {
      groups.add(("group-" + i + "-").repeat(20));
    }
    LoginUser many = new LoginUser("oidc", "a@x.org", true, "A", groups);
    String value = login.sealSession(many, "h", java.time.Duration.ofHours(1));
    assertThat(value.length()).isLessThanOrEqualTo(OidcLogin.MAX_COOKIE_CHARS);
    LoginUser kept = LoginUser.fromClaims(new SealedCookie(KEY).open(value, "session", "h", NOW).orElseThrow());
    assertThat(kept.groups()).isNotEmpty().isEqualTo(groups.subList(0, kept.groups().size()));
    assertThat(kept.email()).isEqualTo("a@x.org");
  }

  @Test
  void pkceChallengeIsRfc7636AppendixB() {
    assertThat(OidcLogin.challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
        .isEqualTo("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  }
}
