package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IngressAnswerTest {

  @ParameterizedTest
  @ValueSource(ints = {101, 400, 403, 404, 405, 503})
  void everyAnswerTheNodeWritesParsesBack(int status) {
    Buffer answer = IngressAnswer.encode(status);
    assertThat(IngressAnswer.parse(answer)).isEqualTo(new IngressAnswer.Status(status, answer.length()));
  }

  @Test
  void switchingProtocolsIsAnUpgrade() {
    assertThat(IngressAnswer.encode(101).toString())
        .startsWith("HTTP/1.1 101 Switching Protocols\r\n")
        .contains("Upgrade: funnel-ingress\r\n")
        .endsWith("\r\n\r\n");
  }

  @ParameterizedTest
  @CsvSource({"400,Bad Request", "403,Forbidden", "404,Not Found", "405,Method Not Allowed", "503,Service Unavailable",
      "500,Error"})
  void errorsCarryTheirReasonAndCloseTheConnection(int status, String reason) {
    assertThat(IngressAnswer.encode(status).toString())
        .startsWith("HTTP/1.1 " + status + " " + reason + "\r\n")
        .contains("Content-Length: 0\r\n", "Connection: close\r\n");
  }

  @Test
  void bytesAfterTheHeadAreNotPartOfIt() {
    Buffer bytes = IngressAnswer.encode(101).appendString("stream");
    IngressAnswer.Parsed parsed = IngressAnswer.parse(bytes);
    int consumed = ((IngressAnswer.Status) parsed).consumed();
    assertThat(bytes.getString(consumed, bytes.length())).isEqualTo("stream");
  }

  @Test
  void needsMoreUntilTheHeadIsComplete() {
    Buffer whole = IngressAnswer.encode(101);
    for (int i = 0; i < whole.length(); i++) {
      assertThat(IngressAnswer.parse(whole.getBuffer(0, i))).isInstanceOf(IngressAnswer.NeedMore.class);
    }
  }

  @Test
  void aStatusLineWithoutReasonIsFine() {
    assertThat(IngressAnswer.parse(Buffer.buffer("HTTP/1.0 503\r\n\r\n"))).isEqualTo(new IngressAnswer.Status(503, 16));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "HTTP/2 200 OK\r\n\r\n",
      "SSH-2.0-OpenSSH\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 abc OK\r\n\r\n",
      "HTTP/1.1 099 Low\r\n\r\n",
      "HTTP/1.1 600 High\r\n\r\n",
      "HTTP/1.1 -10 Negative\r\n\r\n",
      "HTTP/1.1\r\n\r\n"})
  void rejectsWhatIsNotAStatusLine(String head) {
    assertThat(IngressAnswer.parse(Buffer.buffer(head))).isInstanceOf(IngressAnswer.Malformed.class);
  }

  @Test
  void anAnswerThatNeverEndsIsMalformedAtTheCap() {
    Buffer bytes = Buffer.buffer("HTTP/1.1 101 Switching Protocols\r\nX: ");
    while (bytes.length() < IngressOffer.MAX_HEAD_BYTES) {
      bytes.appendString("x");
    }
    IngressAnswer.Parsed parsed = IngressAnswer.parse(bytes);
    assertThat(parsed).isInstanceOf(IngressAnswer.Malformed.class);
    assertThat(((IngressAnswer.Malformed) parsed).reason()).contains("larger than");
  }
}
