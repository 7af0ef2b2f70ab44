package dev.funnel.terminator;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(5)
class ForwardedHeadersTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/      | /a/b?c=d       | /a/b?c=d",
      "''     | /a?x           | /a?x",
      "/app   | /a/b?c=d       | /app/a/b?c=d",
      "/app/  | /a/b?c=d       | /app/a/b?c=d",
      "/app   | /              | /app/",
      "/app   | /?q=%20        | /app/?q=%20",
      "/app   | *              | /app",
  })
  void joinsThePrefixAndKeepsPathAndQuery(String prefix, String pathAndQuery, String expected) {
    assertThat(ForwardedHeaders.joinPath(prefix, pathAndQuery)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "203.0.113.7  | web.example      | for=203.0.113.7;proto=https;host=web.example",
      "203.0.113.7  | web.example:8443 | for=203.0.113.7;proto=https;host=\"web.example:8443\"",
      "2001:db8::1  | web.example      | for=\"[2001:db8::1]\";proto=https;host=web.example",
  })
  void buildsAnRfc7239Element(String ip, String host, String expected) {
    assertThat(ForwardedHeaders.forwardedElement(ip, host)).isEqualTo(expected);
  }

  @Test
  void stripsSpoofedAndHopByHopHeadersThenSetsItsOwn() {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap()
        .add("X-Forwarded-For", "6.6.6.6").add("x-forwarded-for", "7.7.7.7")
        .add("X-Forwarded-Proto", "http").add("X-Forwarded-Host", "evil").add("Forwarded", "for=6.6.6.6")
        .add("Funnel-Request", "?0").add("X-Real-IP", "6.6.6.6")
        .add("Connection", "keep-alive, X-Secret").add("X-Secret", "s").add("Keep-Alive", "timeout=5")
        .add("Expect", "100-continue")
        .add("Accept", "text/html");
    ForwardedHeaders.rewriteRequest(headers, false, "203.0.113.7", "web.example");

    assertThat(headers.getAll("X-Forwarded-For")).containsExactly("203.0.113.7");
    assertThat(headers.getAll("X-Forwarded-Proto")).containsExactly("https");
    assertThat(headers.getAll("X-Forwarded-Host")).containsExactly("web.example");
    assertThat(headers.getAll("Forwarded")).containsExactly("for=203.0.113.7;proto=https;host=web.example");
    assertThat(headers.getAll("Funnel-Request")).containsExactly("?1");
    assertThat(headers.contains("X-Real-IP")).isFalse();
    assertThat(headers.contains("Connection")).isFalse();
    assertThat(headers.contains("X-Secret")).isFalse();
    assertThat(headers.contains("Keep-Alive")).isFalse();
    assertThat(headers.contains("Expect")).isFalse();
    assertThat(headers.getAll("Accept")).containsExactly("text/html");
  }

  @Test
  void http2PseudoHeadersGoAndCookiesAreJoined() {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap()
        .add(":authority", "web.example").add(":path", "/").add("cookie", "a=1").add("cookie", "b=2");
    ForwardedHeaders.rewriteRequest(headers, true, "203.0.113.7", "web.example");
    assertThat(headers.names()).noneMatch(n -> n.startsWith(":"));
    assertThat(headers.getAll("cookie")).containsExactly("a=1; b=2");
  }

  @Test
  void upgradeKeepsConnectionAndUpgrade() {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap()
        .add("Connection", "Upgrade").add("Upgrade", "websocket").add("X-Forwarded-For", "6.6.6.6");
    ForwardedHeaders.stripForUpgrade(headers);
    assertThat(headers.get("Connection")).isEqualTo("Upgrade");
    assertThat(headers.get("Upgrade")).isEqualTo("websocket");
    assertThat(headers.contains("X-Forwarded-For")).isFalse();
  }

  @ParameterizedTest
  @CsvSource({"Web.Example.,web.example", "web.example,web.example", "WEB.EXAMPLE,web.example"})
  void comparesAuthoritiesNormalised(String host, String expected) {
    assertThat(ForwardedHeaders.authorityHost(host)).isEqualTo(expected);
  }
}
