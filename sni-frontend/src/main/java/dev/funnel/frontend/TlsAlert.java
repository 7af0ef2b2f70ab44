package dev.funnel.frontend;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * The one TLS record the frontend ever writes itself: a fatal alert, sent in clear before any key
 * exchange, so the client shows a TLS error rather than a bare reset.
 *
 * <p>RFC 8446 §6:
 * <pre>
 * enum { warning(1), fatal(2), (255) } AlertLevel;
 *
 * struct {
 *     AlertLevel level;
 *     AlertDescription description;
 * } Alert;
 * </pre>
 * carried in a record of type alert(21), legacy_record_version 0x0303, length 2.
 */
public enum TlsAlert {
  /** Broken, hostile or unsupported hello; or a route the policy refuses (funnel off, port not allowed). */
  HANDSHAKE_FAILURE(40),
  /** Something on our side failed (registry, gateway, node unreachable). */
  INTERNAL_ERROR(80),
  /** RFC 6066 §3: the server does not recognise the name the client asked for. */
  UNRECOGNIZED_NAME(112);

  static final int CONTENT_TYPE_ALERT = 21;
  static final int LEVEL_FATAL = 2;

  private final int description;

  TlsAlert(int description) {
    this.description = description;
  }

  public int description() {
    return description;
  }

  /** The whole 7-byte alert record. A fresh array each time. */
  public byte[] record() {
    return new byte[] {(byte) CONTENT_TYPE_ALERT, 0x03, 0x03, 0x00, 0x02, (byte) LEVEL_FATAL, (byte) description};
  }

  /** {@link #record()} as a buffer to write (a fresh one each time: a written buffer is released). */
  public ByteBuf buffer() {
    return Unpooled.wrappedBuffer(record());
  }
}
