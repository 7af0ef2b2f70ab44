package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ControlFramesTest {

  private static final int MAX = ControlFrames.DEFAULT_MAX_FRAME_BYTES;

  @Test
  void encodesALengthPrefixThenUtf8Json() {
    JsonObject body = new JsonObject().put("type", "ping").put("note", "größe");
    Buffer frame = ControlFrames.encode(body);
    byte[] json = body.encode().getBytes(StandardCharsets.UTF_8);
    assertThat(frame.getInt(0)).isEqualTo(json.length);
    assertThat(frame.getBytes(4, frame.length())).isEqualTo(json);
  }

  @Test
  void decodesWhatItEncodesAndReportsTheBytesConsumed() {
    JsonObject body = new JsonObject().put("type", "challenge").put("nonce", "n-1").put("unicode", "ü→✓");
    Buffer bytes = ControlFrames.encode(body).appendString("next");
    ControlFrames.Decoded decoded = ControlFrames.decode(bytes, MAX);
    assertThat(decoded).isInstanceOf(ControlFrames.Frame.class);
    ControlFrames.Frame frame = (ControlFrames.Frame) decoded;
    assertThat(frame.body()).isEqualTo(body);
    assertThat(frame.consumed()).isEqualTo(bytes.length() - 4);
  }

  @Test
  void needsMoreForAPartialPrefixOrBody() {
    Buffer frame = ControlFrames.encode(new JsonObject().put("type", "ping"));
    for (int i = 0; i < frame.length(); i++) {
      assertThat(ControlFrames.decode(frame.getBuffer(0, i), MAX)).as("%d bytes", i)
          .isInstanceOf(ControlFrames.NeedMore.class);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, -1, Integer.MIN_VALUE, MAX + 1, Integer.MAX_VALUE})
  void refusesLengthsOutsideTheBoundsBeforeReadingTheBody(int length) {
    Buffer bytes = Buffer.buffer().appendInt(length);
    ControlFrames.Decoded decoded = ControlFrames.decode(bytes, MAX);
    assertThat(decoded).isInstanceOf(ControlFrames.Malformed.class);
    assertThat(((ControlFrames.Malformed) decoded).reason()).contains("outside 2.." + MAX);
  }

  @Test
  void theCapIsTheCallersChoice() {
    Buffer frame = ControlFrames.encode(new JsonObject().put("pad", "x".repeat(100)));
    assertThat(ControlFrames.decode(frame, 50)).isInstanceOf(ControlFrames.Malformed.class);
    assertThat(ControlFrames.decode(frame, 200)).isInstanceOf(ControlFrames.Frame.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"not json at all", "{\"type\":", "{\"a\":1}}x", "\u00ff\u00fe"})
  void refusesBodiesThatAreNotJson(String body) {
    ControlFrames.Decoded decoded = ControlFrames.decode(frame(body), MAX);
    assertThat(decoded).isInstanceOf(ControlFrames.Malformed.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"[1,2,3]", "\"a string\"", "12345", "true", "null"})
  void refusesJsonThatIsNotAnObject(String body) {
    ControlFrames.Decoded decoded = ControlFrames.decode(frame(body), MAX);
    assertThat(decoded).isInstanceOf(ControlFrames.Malformed.class);
    assertThat(((ControlFrames.Malformed) decoded).reason()).isIn("frame is not a JSON object", "frame is not JSON");
  }

  @Test
  void frameReaderYieldsEveryWholeMessageAndKeepsTheRest() {
    Buffer stream = new ControlMessage.Challenge("n").encode()
        .appendBuffer(new ControlMessage.Ping(7).encode())
        .appendString("POST /v0/ingress");
    FrameReader reader = new FrameReader(MAX);
    List<ControlMessage> all = new java.util.ArrayList<>();
    for (int i = 0; i < stream.length(); i += 3) {
      all.addAll(reader.feed(stream.getBuffer(i, Math.min(stream.length(), i + 3))));
      if (all.size() == 2) {
        break;
      }
    }
    assertThat(all).containsExactly(new ControlMessage.Challenge("n"), new ControlMessage.Ping(7));
  }

  @Test
  void frameReaderNextStopsAfterOneMessageAndKeepsWhatFollows() {
    Buffer stream = new ControlMessage.Challenge("n").encode().appendString("POST /v0/ingress");
    FrameReader reader = new FrameReader(MAX);
    assertThat(reader.next(stream.getBuffer(0, 5))).isNull();
    assertThat(reader.next(stream.getBuffer(5, stream.length()))).isEqualTo(new ControlMessage.Challenge("n"));
    assertThat(reader.remainder().toString()).isEqualTo("POST /v0/ingress");
  }

  @Test
  void frameReaderFeedTreatsEverythingAsFrames() {
    Buffer stream = new ControlMessage.Challenge("n").encode().appendString("POST /v0/ingress");
    assertThatThrownBy(() -> new FrameReader(MAX).feed(stream))
        .isInstanceOf(ControlMessage.InvalidMessage.class).hasMessageContaining("frame length");
    Buffer partial = new ControlMessage.Challenge("n").encode().appendString("PO");
    FrameReader reader = new FrameReader(MAX);
    assertThat(reader.feed(partial)).containsExactly(new ControlMessage.Challenge("n"));
    assertThat(reader.remainder().toString()).isEqualTo("PO");
  }

  @Test
  void frameReaderThrowsInvalidMessageOnGarbage() {
    FrameReader reader = new FrameReader(MAX);
    assertThatThrownBy(() -> reader.feed(Buffer.buffer("GET / HTTP/1.1\r\n\r\n")))
        .isInstanceOf(ControlMessage.InvalidMessage.class);
    FrameReader other = new FrameReader(MAX);
    assertThatThrownBy(() -> other.feed(frame("{\"type\":\"nope\"}")))
        .isInstanceOf(ControlMessage.InvalidMessage.class).hasMessageContaining("unknown message type nope");
  }

  private static Buffer frame(String body) {
    byte[] bytes = body.getBytes(StandardCharsets.ISO_8859_1);
    return Buffer.buffer().appendInt(bytes.length).appendBytes(bytes);
  }
}
