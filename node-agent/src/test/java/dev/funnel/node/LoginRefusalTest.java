package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which refusals a node waits out, and which need someone to act (and what the node says the fix is). */
class LoginRefusalTest {

  @ParameterizedTest(name = "{0} {1} (enrolled {2})")
  @CsvSource(delimiter = '|', nullValues = "-", value = {
      // code         | message                                                  | enrolled | permanent | the fix says (a part), or - for none
      "BAD_KEY        | unknown auth key                                         | false | true  | check --authkey",
      "BAD_KEY        | one-off auth key k1 was already used at 2026-01-01T00:00:00Z | false | true | funnel admin key add --tailnet TAILNET",
      "BAD_KEY        | auth key k1 expired at 2026-01-01T00:00:00Z              | false | true  | check --authkey",
      "BAD_KEY        | auth key k1 was revoked                                  | false | true  | check --authkey",
      "BAD_KEY        | the auth key k1 this node (web.acme) enrolled with was revoked: start it with a new --authkey | true | true | -",
      "BAD_KEY        | an auth key is required for a new node                  | true  | true  | funnel admin node rm web.acme) or its tailnet was (funnel admin tailnet rm acme)",
      "BAD_KEY        | an auth key is required for a new node                  | false | true  | give --authkey",
      "NAME_TAKEN     | web.acme is already owned by another node               | false | true  | pick another --hostname",
      "BAD_REQUEST    | this node key is registered as web.acme; log in with hostname web | false | true | -",
      "BAD_NODE_KEY   | proof does not verify                                    | false | true  | node-key.pem",
      "PROTOCOL       | this gateway speaks protocol version 3                   | false | true  | -",
      "UNAVAILABLE    | the registry is unavailable                              | false | false | -",
      "UNAVAILABLE    | the registry is unavailable                              | true  | false | -",
      "LEASE_UNKNOWN  | no such lease                                            | true  | false | -",
      "SOMETHING_NEW  | a code this node does not know                           | true  | false | -"})
  void classifies(String code, String message, boolean enrolled, boolean permanent, String fix) {
    LoginRefusal r = LoginRefusal.of(code, message, enrolled, enrolled ? "web.acme" : null);
    assertThat(r.permanent()).isEqualTo(permanent);
    assertThat(r.reason()).isEqualTo(code + ": " + message);
    if (fix == null) {
      assertThat(r.fix()).isNull();
      assertThat(r.line()).isEqualTo(r.reason());
    } else {
      assertThat(r.fix()).contains(fix);
      assertThat(r.line()).isEqualTo(r.reason() + "; " + r.fix()).doesNotContain("\n");
    }
  }

  @Test
  void aRemovedNodeWithoutItsNameGetsPlaceholders() {
    assertThat(LoginRefusal.of("BAD_KEY", LoginRefusal.AUTH_KEY_REQUIRED, true, null).fix())
        .contains("funnel admin node rm NODE.TAILNET").contains("tailnet rm TAILNET");
  }

  @ParameterizedTest
  @CsvSource(nullValues = "-", value = {"web.acme.funnel.localhost, web.acme", "web.acme, web.acme", "web, web",
      "-, -"})
  void shortName(String fqdn, String expected) {
    assertThat(RefusalNotes.shortName(fqdn)).isEqualTo(expected);
  }
}
