package dev.funnel.dns.push;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Backoff}, {@link TsigSecret} and {@link PushOptions#check}: tables. */
class SmallPartsTest {

  static final String SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";

  static Stream<Arguments> backoff() {
    return Stream.of(
        Arguments.of(1, 0.5, 1_000L),
        Arguments.of(2, 0.5, 2_000L),
        Arguments.of(3, 0.5, 4_000L),
        Arguments.of(5, 0.5, 16_000L),
        Arguments.of(6, 0.5, 30_000L),
        Arguments.of(1_000, 0.5, 30_000L),
        Arguments.of(1, 0.0, 800L),
        Arguments.of(1, 0.999_999, 1_200L),
        Arguments.of(6, 0.0, 24_000L),
        Arguments.of(0, 0.5, 1_000L));
  }

  @ParameterizedTest(name = "after {0} failures, random {1}: {2} ms")
  @MethodSource("backoff")
  void backoffDoublesUpToTheCapWithJitter(int failures, double random, long expected) {
    assertThat(Backoff.delayMillis(failures, 1_000, 30_000, random)).isEqualTo(expected);
  }

  static Stream<Arguments> secretFiles() {
    return Stream.of(
        Arguments.of(SECRET + "\n"),
        Arguments.of("  " + SECRET + "  \n\n"),
        Arguments.of("key \"funnel\" {\n\talgorithm hmac-sha256;\n\tsecret \"" + SECRET + "\";\n};\n"),
        Arguments.of("# hmac-sha256:funnel:" + SECRET + "\nkey:\n  - id: funnel\n    algorithm: hmac-sha256\n    secret: "
            + SECRET + "\n"));
  }

  @ParameterizedTest
  @MethodSource("secretFiles")
  void theSecretIsFoundInTheFormatsDnsToolsWrite(String content) {
    assertThat(TsigSecret.parse(content)).isEqualTo(SECRET);
  }

  @Test
  void aFileWithoutASecretSaysSoWithoutEchoingIt() {
    assertThatThrownBy(() -> TsigSecret.parse("")).hasMessageContaining("holds no TSIG secret");
    assertThatThrownBy(() -> TsigSecret.parse("two\nlines")).hasMessageContaining("holds no TSIG secret");
    assertThatThrownBy(() -> TsigSecret.parse("not*base64!")).hasMessage("holds a TSIG secret that is not base64");
  }

  static PushOptions good() {
    return new PushOptions().setHost("127.0.0.1").setPort(53).setZone("funnel.test").setTsigName("funnel")
        .setTsigSecret(SECRET);
  }

  @Test
  void optionsNameWhatIsWrong() {
    good().check("funnel.test");
    good().setZone("test.").check("funnel.test");
    good().setTsigAlgorithm("hmac-sha512").check("FUNNEL.test.");
    assertThatThrownBy(() -> good().setZone("example.com").check("funnel.test"))
        .hasMessageContaining("zone example.com does not hold the base domain funnel.test");
    assertThatThrownBy(() -> good().setZone("xfunnel.test").check("funnel.test")).hasMessageContaining("does not hold");
    assertThatThrownBy(() -> good().setZone("sub.funnel.test").check("funnel.test")).hasMessageContaining("does not hold");
    assertThatThrownBy(() -> good().setTsigAlgorithm("hmac-sha3").check("funnel.test"))
        .hasMessageContaining("TSIG algorithm 'hmac-sha3'");
    assertThatThrownBy(() -> good().setTsigSecret("***").check("funnel.test")).hasMessage("the TSIG secret is not base64");
    assertThatThrownBy(() -> good().setTsigName(" ").check("funnel.test")).hasMessage("the TSIG key name is empty");
    assertThatThrownBy(() -> good().setPort(0).check("funnel.test")).hasMessageContaining("port");
    assertThatThrownBy(() -> good().setRetryMaxMillis(10).check("funnel.test")).hasMessageContaining("bounds");
  }
}
