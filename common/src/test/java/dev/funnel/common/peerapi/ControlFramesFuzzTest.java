package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the control channel's decoder: {@link ControlFrames#decode} (4-byte length + JSON, under
 * the size cap), {@link ControlMessage#fromJson}, and {@link FrameReader} as both ends use it.
 * Seeds ({@code ControlFramesFuzzTestInputs/}): one frame of every message type as the encoders
 * write it, two frames back to back, and a data-hello followed by the start of an offer.
 *
 * <p>Properties: decoding never throws; the only failure a frame can cause is
 * {@link ControlMessage.InvalidMessage} (the connection is then closed), never a
 * {@code ClassCastException}, {@code NumberFormatException} or the like escaping into the verticle;
 * a frame longer than the cap is refused from its length alone; a decoded message survives
 * encode → decode unchanged; and bytes fed in two reads give the same messages as in one.
 */
class ControlFramesFuzzTest {

  /** Small enough that mutated lengths cross it often. */
  private static final int CAP = 2048;

  @FuzzTest
  void decode(byte[] input) {
    Buffer buf = Buffer.buffer(input);
    ControlFrames.Decoded decoded = ControlFrames.decode(buf, CAP);
    if (input.length >= 4) {
      int length = buf.getInt(0);
      if (length < 2 || length > CAP) {
        assertThat(decoded).as("refused from the length alone").isInstanceOf(ControlFrames.Malformed.class);
      }
    }
    if (decoded instanceof ControlFrames.Frame frame) {
      assertThat(frame.consumed()).isBetween(6, Math.min(input.length, 4 + CAP));
      ControlMessage message;
      try {
        message = ControlMessage.fromJson(frame.body());
      } catch (ControlMessage.InvalidMessage invalid) {
        assertThat(invalid.getMessage()).isNotBlank();
        return;
      }
      ControlFrames.Decoded again = ControlFrames.decode(message.encode(), Integer.MAX_VALUE);
      assertThat(again).isInstanceOf(ControlFrames.Frame.class);
      assertThat(ControlMessage.fromJson(((ControlFrames.Frame) again).body())).isEqualTo(message);
    }
  }

  @FuzzTest
  void readerInTwoReads(byte[] input) {
    Buffer whole = Buffer.buffer(input);
    int cut = cut(input);
    Outcome once = feed(whole);
    Outcome twice = feed(whole.getBuffer(0, cut), whole.getBuffer(cut, input.length));
    assertThat(twice).isEqualTo(once);
  }

  record Outcome(List<ControlMessage> messages, String invalid) {
  }

  private static Outcome feed(Buffer... chunks) {
    FrameReader reader = new FrameReader(CAP);
    List<ControlMessage> messages = new ArrayList<>();
    for (Buffer chunk : chunks) {
      Throwable failure = catchThrowable(() -> messages.addAll(reader.feed(chunk)));
      if (failure != null) {
        assertThat(failure).isInstanceOf(ControlMessage.InvalidMessage.class);
        // The stream is closed at the first invalid frame: what came before it no longer matters.
        return new Outcome(List.of(), failure.getMessage());
      }
    }
    return new Outcome(messages, null);
  }

  /** A cut point that depends only on the input, so a finding replays exactly. */
  static int cut(byte[] input) {
    return input.length == 0 ? 0 : Math.floorMod(java.util.Arrays.hashCode(input), input.length + 1);
  }
}
