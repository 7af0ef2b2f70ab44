package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

  @ParameterizedTest
  @CsvSource({
      "127.0.0.1:7443, 127.0.0.1, 7443, 127.0.0.1:7443",
      "localhost:0, localhost, 0, localhost:0",
      "web.demo.funnel.example:443, web.demo.funnel.example, 443, web.demo.funnel.example:443",
      "[::1]:8443, ::1, 8443, [::1]:8443",
      "[2001:db8::7]:65535, 2001:db8::7, 65535, [2001:db8::7]:65535"})
  void parsesAndPrintsBack(String text, String host, int port, String printed) {
    HostPort hp = HostPort.parse(text);
    assertThat(hp).isEqualTo(new HostPort(host, port));
    assertThat(hp.toString()).isEqualTo(printed);
    assertThat(HostPort.parse(hp.toString())).isEqualTo(hp);
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(strings = {"", "localhost", "localhost:", ":443", "host:abc", "host:65536", "host:-1", "[::1]",
      "[::1]:", "host: 80",
      "[ 8]:11", " host:80", "host :80", "ho\tst:80", "::1:80", "host:+80", "host:080000", "[]:80", "h/x:80"})
  void refusesWithAReason(String text) {
    assertThatThrownBy(() -> HostPort.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageMatching(".*(HOST:PORT|port out of range|empty host).*");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "443=127.0.0.1:21443 | expected HOST:PORT; '=' cannot be in a host name: '443=127.0.0.1:21443'",
      "h/x:80              | expected HOST:PORT; '/' cannot be in a host name: 'h/x:80'",
      "'ho st:80'          | expected HOST:PORT; a space cannot be in a host name: 'ho st:80'",
      "::1:80              | expected HOST:PORT; an IPv6 address needs [brackets]: '::1:80'",
      "host:+80            | expected HOST:PORT; the port is not a number from 0 to 65535: 'host:+80'",
      "localhost           | expected HOST:PORT, got 'localhost'"})
  void theReasonReadsAsOneSentence(String text, String message) {
    assertThatThrownBy(() -> HostPort.parse(text)).hasMessage(message);
  }

  @org.junit.jupiter.api.Test
  void aControlCharacterIsNamedByItsCode() {
    assertThatThrownBy(() -> HostPort.parse("ho\tst:80"))
        .hasMessage("expected HOST:PORT; character U+0009 cannot be in a host name: 'ho\tst:80'");
  }

  @ParameterizedTest
  @ValueSource(ints = {-1, 65536, Integer.MAX_VALUE})
  void theConstructorChecksThePort(int port) {
    assertThatThrownBy(() -> new HostPort("h", port)).isInstanceOf(IllegalArgumentException.class);
  }

  @org.junit.jupiter.api.Test
  void theConstructorChecksTheHost() {
    assertThatThrownBy(() -> new HostPort("", 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HostPort(null, 1)).isInstanceOf(IllegalArgumentException.class);
  }
}
