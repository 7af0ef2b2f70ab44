package dev.funnel.common.peerapi;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * Framing of the node ⇄ gateway control channel (and the first message of each link connection):
 * a 4-byte big-endian length, then that many bytes of UTF-8 JSON. Pure functions, no I/O.
 */
public final class ControlFrames {

  /** Frames larger than this are refused; control messages are small. */
  public static final int DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

  private ControlFrames() {
  }

  /** The result of looking at the start of a buffer for one frame. */
  public sealed interface Decoded {
  }

  /** Not enough bytes yet for a whole frame. */
  public record NeedMore() implements Decoded {
  }

  /** One frame, {@code consumed} bytes long including its length prefix. */
  public record Frame(JsonObject body, int consumed) implements Decoded {
  }

  /** The stream cannot be a control stream; close it. */
  public record Malformed(String reason) implements Decoded {
  }

  public static Buffer encode(JsonObject body) {
    Buffer json = body.toBuffer();
    return Buffer.buffer(4 + json.length()).appendInt(json.length()).appendBuffer(json);
  }

  /** Decodes the first frame of {@code buf}, refusing lengths above {@code maxFrameBytes}. */
  public static Decoded decode(Buffer buf, int maxFrameBytes) {
    if (buf.length() < 4) {
      return new NeedMore();
    }
    int length = buf.getInt(0);
    if (length < 2 || length > maxFrameBytes) {
      return new Malformed("frame length " + Integer.toUnsignedString(length) + " outside 2.." + maxFrameBytes);
    }
    if (buf.length() < 4 + length) {
      return new NeedMore();
    }
    try {
      Object parsed = Buffer.buffer(buf.getBytes(4, 4 + length)).toJsonValue();
      if (!(parsed instanceof JsonObject body)) {
        return new Malformed("frame is not a JSON object");
      }
      return new Frame(body, 4 + length);
    } catch (DecodeException | ClassCastException e) {
      return new Malformed("frame is not JSON");
    }
  }
}
