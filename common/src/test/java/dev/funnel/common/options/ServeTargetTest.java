package dev.funnel.common.options;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.options.ServeTarget.Kind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ServeTargetTest {

  @ParameterizedTest
  @CsvSource({
      "tcp://127.0.0.1:8443, TCP, 127.0.0.1, 8443, ''",
      "TCP://localhost:22, TCP, localhost, 22, ''",
      "tcp://[::1]:8443, TCP, ::1, 8443, ''",
      "http://127.0.0.1:3000, HTTP, 127.0.0.1, 3000, /",
      "http://127.0.0.1:3000/app/, HTTP, 127.0.0.1, 3000, /app/",
      "http://localhost, HTTP, localhost, 80, /",
      "https+insecure://127.0.0.1, HTTPS_INSECURE, 127.0.0.1, 443, /",
      "https+insecure://[::1]:8443/x, HTTPS_INSECURE, ::1, 8443, /x",
      "tls-terminated-tcp://127.0.0.1:5432, TLS_TERMINATED_TCP, 127.0.0.1, 5432, ''",
      "tls-terminated-tcp://127.0.0.1:5432/ignored, TLS_TERMINATED_TCP, 127.0.0.1, 5432, ''"})
  void parses(String text, Kind kind, String host, int port, String path) {
    ServeTarget target = ServeTarget.parse(text);
    assertThat(target).isEqualTo(new ServeTarget(kind, host, port, path));
    assertThat(ServeTarget.parse(target.toString())).isEqualTo(target);
  }

  @ParameterizedTest
  @CsvSource({
      "tcp://127.0.0.1:8443, tcp://127.0.0.1:8443",
      "tcp://[::1]:8443, tcp://[::1]:8443",
      "http://localhost, http://localhost:80",
      "http://localhost:3000/app, http://localhost:3000/app"})
  void printsAsAUrl(String text, String printed) {
    assertThat(ServeTarget.parse(text).toString()).isEqualTo(printed);
  }

  @ParameterizedTest
  @CsvSource({"TCP, false", "HTTP, true", "HTTPS_INSECURE, true", "TLS_TERMINATED_TCP, true"})
  void whoTerminatesTls(Kind kind, boolean terminates) {
    assertThat(kind.terminatesTls()).isEqualTo(terminates);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "127.0.0.1:8443 | no scheme; use one of tcp://HOST:PORT, http://HOST:PORT[/path], https+insecure://",
      "localhost:8443 | (e.g. http://localhost:8443)",
      "ftp://127.0.0.1:21 | scheme must be",
      "udp://127.0.0.1:53 | scheme must be",
      "tcp://127.0.0.1 | no port",
      "tls-terminated-tcp://127.0.0.1 | no port",
      "tcp:///path | no host",
      "http:// | bad target",
      "tcp://127.0.0.1:0 | port",
      "tcp://127.0.0.1:65536 | port",
      "http://127.0.0.1:99999 | port",
      "tcp://a b:1 | bad target"})
  void refusesWithAReasonAUserCanActOn(String text, String reason) {
    assertThatThrownBy(() -> ServeTarget.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bad target")
        .hasMessageContaining(reason);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "file:///srv/site | FILE | /srv/site | ''",
      "file:///srv/site/ | FILE | /srv/site | ''",
      "file:///srv/./site/../web?listing | FILE | /srv/web | listing",
      "text:hello, world | TEXT | '' | 'hello, world'",
      "text: | TEXT | '' | ''",
      "redirect:https://example.com/new | REDIRECT | '' | https://example.com/new",
      "redirect:/elsewhere | REDIRECT | '' | /elsewhere"})
  void parsesBuiltInHandlers(String text, Kind kind, String path, String value) {
    ServeTarget target = ServeTarget.parse(text);
    assertThat(target).isEqualTo(new ServeTarget(kind, "", 0, path, value));
    assertThat(ServeTarget.parse(target.toString())).isEqualTo(target);
    assertThat(kind.terminatesTls()).isTrue();
    assertThat(kind.isStream()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp://127.0.0.1:1", "tcp://127.0.0.1:65535"})
  void acceptsTheWholePortRange(String text) {
    assertThat(ServeTarget.parse(text).port()).isBetween(1, 65535);
  }
}
