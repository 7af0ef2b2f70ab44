package dev.funnel.common.net;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * The first bytes a frontend sends on a gateway's relay port, and the one byte it gets back.
 *
 * <pre>
 * frontend → relay:  "FNLR" | version (1) | idLength (1) | frontendId (UTF-8) | ticketLength (1) | ticket (ASCII)
 * relay → frontend:  status (1): 0 = OK, the node's stream follows; anything else = refused, then close
 * </pre>
 *
 * After an OK the connection is the client's raw stream both ways: the frontend writes the
 * ClientHello bytes it read, exactly as received, and splices. Parsing is a pure function over the
 * bytes received so far; it never throws and never reads past {@link #MAX_BYTES}.
 */
public final class RelayPreamble {

  public static final byte VERSION = 1;
  /** The longest well-formed preamble: magic, version, two lengths, two 255-byte fields. */
  public static final int MAX_BYTES = 4 + 1 + 1 + 255 + 1 + 255;
  private static final byte[] MAGIC = {'F', 'N', 'L', 'R'};

  /** The relay's answer byte. */
  public enum Status {
    OK(0), UNKNOWN_TICKET(1), WRONG_FRONTEND(2), MALFORMED(3);

    public final int code;

    Status(int code) {
      this.code = code;
    }

    public static Status of(int code) {
      for (Status s : values()) {
        if (s.code == code) {
          return s;
        }
      }
      return MALFORMED;
    }
  }

  /** What {@link #parse} found. */
  public sealed interface Result permits NeedMore, Parsed, Invalid {
  }

  /** Not enough bytes yet; parse again when at least {@code atLeast} have arrived. */
  public record NeedMore(int atLeast) implements Result {
  }

  /** A whole preamble of {@code length} bytes; bytes after it belong to the client's stream. */
  public record Parsed(String frontendId, String ticket, int length) implements Result {
  }

  public record Invalid(String reason) implements Result {
  }

  private RelayPreamble() {
  }

  public static Buffer encode(String frontendId, String ticket) {
    byte[] id = frontendId.getBytes(StandardCharsets.UTF_8);
    byte[] t = ticket.getBytes(StandardCharsets.US_ASCII);
    if (id.length == 0 || id.length > 255 || t.length == 0 || t.length > 255) {
      throw new IllegalArgumentException("frontend id and ticket must be 1..255 bytes");
    }
    return Buffer.buffer(MAGIC.length + 3 + id.length + t.length)
        .appendBytes(MAGIC).appendByte(VERSION)
        .appendByte((byte) id.length).appendBytes(id)
        .appendByte((byte) t.length).appendBytes(t);
  }

  public static Result parse(Buffer bytes) {
    int have = bytes.length();
    int need = MAGIC.length;
    for (int i = 0; i < Math.min(have, need); i++) {
      if (bytes.getByte(i) != MAGIC[i]) {
        return new Invalid("not a relay preamble");
      }
    }
    if (have < need + 1) {
      return new NeedMore(need + 1);
    }
    if (bytes.getByte(need) != VERSION) {
      return new Invalid("relay preamble version " + bytes.getUnsignedByte(need) + " is not " + VERSION);
    }
    int idAt = need + 1;
    if (have < idAt + 1) {
      return new NeedMore(idAt + 1);
    }
    int idLength = bytes.getUnsignedByte(idAt);
    if (idLength == 0) {
      return new Invalid("empty frontend id");
    }
    int ticketAt = idAt + 1 + idLength;
    if (have < ticketAt + 1) {
      return new NeedMore(ticketAt + 1);
    }
    int ticketLength = bytes.getUnsignedByte(ticketAt);
    if (ticketLength == 0) {
      return new Invalid("empty ticket");
    }
    int end = ticketAt + 1 + ticketLength;
    if (have < end) {
      return new NeedMore(end);
    }
    String id = bytes.getString(idAt + 1, ticketAt, StandardCharsets.UTF_8.name());
    String ticket = bytes.getString(ticketAt + 1, end, StandardCharsets.US_ASCII.name());
    return new Parsed(id, ticket, end);
  }
}
