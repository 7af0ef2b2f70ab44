package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RelayPreambleTest {

  @Test
  void roundTripsAndLeavesWhatFollowsAlone() {
    Buffer wire = RelayPreamble.encode("fe-1a2b3c4d", "t1cket").appendString("\u0016\u0003\u0001hello");
    RelayPreamble.Result result = RelayPreamble.parse(wire);
    assertThat(result).isInstanceOf(RelayPreamble.Parsed.class);
    RelayPreamble.Parsed parsed = (RelayPreamble.Parsed) result;
    assertThat(parsed.frontendId()).isEqualTo("fe-1a2b3c4d");
    assertThat(parsed.ticket()).isEqualTo("t1cket");
    assertThat(wire.getString(parsed.length(), wire.length(), "ISO-8859-1")).isEqualTo("\u0016\u0003\u0001hello");
  }

  @Test
  void everyProperPrefixNeedsMoreAndNamesHowMuch() {
    Buffer wire = RelayPreamble.encode("frontend", LocalStreams.newTicket());
    for (int n = 0; n < wire.length(); n++) {
      RelayPreamble.Result result = RelayPreamble.parse(wire.getBuffer(0, n));
      assertThat(result).as("prefix of %d bytes", n).isInstanceOf(RelayPreamble.NeedMore.class);
      int atLeast = ((RelayPreamble.NeedMore) result).atLeast();
      assertThat(atLeast).isGreaterThan(n).isLessThanOrEqualTo(wire.length());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"GET / HTTP/1.1\r\n", "\u0016\u0003\u0001\u0002\u0000", "FNLX", "FNLR\u0002"})
  void anythingElseIsInvalidFromItsFirstWrongByte(String input) {
    assertThat(RelayPreamble.parse(Buffer.buffer(input.getBytes(StandardCharsets.ISO_8859_1))))
        .isInstanceOf(RelayPreamble.Invalid.class);
  }

  @Test
  void emptyFieldsAreInvalid() {
    Buffer noId = Buffer.buffer().appendString("FNLR").appendByte(RelayPreamble.VERSION).appendByte((byte) 0);
    assertThat(RelayPreamble.parse(noId)).isInstanceOf(RelayPreamble.Invalid.class);
    Buffer noTicket = Buffer.buffer().appendString("FNLR").appendByte(RelayPreamble.VERSION)
        .appendByte((byte) 1).appendString("f").appendByte((byte) 0);
    assertThat(RelayPreamble.parse(noTicket)).isInstanceOf(RelayPreamble.Invalid.class);
  }

  @Test
  void theLongestPreambleFitsTheCap() {
    Buffer wire = RelayPreamble.encode("f".repeat(255), "t".repeat(255));
    assertThat(wire.length()).isEqualTo(RelayPreamble.MAX_BYTES);
    assertThat(RelayPreamble.parse(wire)).isInstanceOf(RelayPreamble.Parsed.class);
  }

  @Test
  void statusCodesRoundTripAndUnknownOnesAreRefusals() {
    for (RelayPreamble.Status s : RelayPreamble.Status.values()) {
      assertThat(RelayPreamble.Status.of(s.code)).isEqualTo(s);
    }
    assertThat(RelayPreamble.Status.of(200)).isEqualTo(RelayPreamble.Status.MALFORMED);
  }
}
