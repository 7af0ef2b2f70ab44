package dev.funnel.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The console's OpenID Connect allow list and the CSRF key every registry sharing the token derives alike. */
class ConsoleOidcTest {

  @Test
  void onlyListedVerifiedAddressesMaySignIn() {
    List<String> alice = List.of("alice@example.com");
    record Row(List<String> allow, String email, boolean verified, boolean allowed) {
    }
    for (Row row : List.of(
        new Row(alice, "alice@example.com", true, true),
        new Row(alice, " Alice@Example.COM ", true, true),
        new Row(alice, "alice@example.com", false, false),
        new Row(alice, "mallory@example.com", true, false),
        new Row(alice, "alice@example.com.evil", true, false),
        new Row(alice, null, true, false),
        new Row(alice, "", true, false),
        new Row(List.of("*"), "anyone@example.org", true, true),
        new Row(List.of("*"), "anyone@example.org", false, false),
        new Row(List.of("*"), null, true, false),
        new Row(List.of(), "alice@example.com", true, false))) {
      assertThat(ConsoleOidc.allowed(row.allow(), row.email(), row.verified())).as(row.toString()).isEqualTo(row.allowed());
    }
  }

  @Test
  void theCsrfKeyFollowsTheAdminTokenAndIsNotIt() {
    String a = ConsoleRoutes.csrfSecret("fnl-admin-one");
    assertThat(ConsoleRoutes.csrfSecret("fnl-admin-one")).isEqualTo(a);
    assertThat(ConsoleRoutes.csrfSecret("fnl-admin-two")).isNotEqualTo(a);
    assertThat(a).doesNotContain("fnl-admin-one").hasSize(43);
  }
}
