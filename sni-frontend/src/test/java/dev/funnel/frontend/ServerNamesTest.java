package dev.funnel.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(10)
class ServerNamesTest {

  static final String DOMAIN = "funnel.localhost";

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "web.demo.funnel.localhost, web.demo.funnel.localhost",
      "WEB.Demo.Funnel.LOCALHOST, web.demo.funnel.localhost",
      "web.demo.funnel.localhost., web.demo.funnel.localhost",
      "a-1.b-2.funnel.localhost, a-1.b-2.funnel.localhost",
  })
  void routableNamesAreNormalised(String sent, String routed) {
    assertThat(ServerNames.routable(sent, DOMAIN)).contains(routed);
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(strings = {
      "", ".", "funnel.localhost", "demo.funnel.localhost", "x.web.demo.funnel.localhost",
      "web.demo.funnel.localhost..", "web.demo.xfunnel.localhost", "web.demo.funnel.localhost.evil",
      "127.0.0.1", "[::1]", "::1", "-web.demo.funnel.localhost", "web-.demo.funnel.localhost",
      "we_b.demo.funnel.localhost", "web.de mo.funnel.localhost", "wéb.demo.funnel.localhost",
      "web..funnel.localhost", "web.demo.funnel.localhost\u0000",
  })
  void everythingElseIsRefused(String sent) {
    assertThat(ServerNames.routable(sent, DOMAIN)).isEmpty();
  }

  @Test
  void aLabelOf64CharactersIsRefused() {
    assertThat(ServerNames.routable("a".repeat(63) + ".demo." + DOMAIN, DOMAIN)).isPresent();
    assertThat(ServerNames.routable("a".repeat(64) + ".demo." + DOMAIN, DOMAIN)).isEmpty();
  }

  @Test
  void theDomainIsCanonicalised() {
    assertThat(ServerNames.canonicalDomain("Funnel.Example.")).isEqualTo("funnel.example");
  }

  @Test
  void namesAreMadeSafeForOneLogLine() {
    assertThat(ServerNames.forLog("a\"b\\c\n\u0000\u00e9")).isEqualTo("\"a\\\"b\\\\c\\x0a\\x00\\xe9\"");
    assertThat(ServerNames.forLog("x".repeat(1000))).hasSize(257);
  }
}
