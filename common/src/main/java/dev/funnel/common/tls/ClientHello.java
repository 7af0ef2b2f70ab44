package dev.funnel.common.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the SNI host name (and the ALPN protocols offered) in the first bytes a TLS client sends,
 * without terminating TLS. Used by the frontend (routing by SNI) and by the node agent (a
 * ClientHello that offers only {@code acme-tls/1} is the ACME CA's tls-alpn-01 validation).
 *
 * <p>Two layers, after Netty's {@code SslClientHelloHandler} / {@code AbstractSniHandler}:
 * <ol>
 *   <li><b>framing</b> ({@link #parse}): walks TLS records until one whole ClientHello handshake
 *   message is present. The message may arrive split across TCP segments (down to one byte each)
 *   and across several TLS records. Anything that is not a handshake record carrying a
 *   client_hello is refused, and so is a message longer than the cap, as soon as its length field is
 *   seen.</li>
 *   <li><b>parsing</b> ({@link #parseMessage}): reads the ClientHello by offset, checking every
 *   length against the bytes that remain, and takes the host_name out of the server_name
 *   extension.</li>
 * </ol>
 *
 * <p>Pure: no I/O, no logging, no state. Every input, however hostile, gives a {@link Result};
 * nothing throws. The name is returned as the client sent it (decoded as ISO-8859-1, so every byte
 * survives); normalising and checking it is the caller's job.
 */
public final class ClientHello {

  /** TLS record header: type(1) legacy_version(2) length(2). */
  public static final int RECORD_HEADER_BYTES = 5;
  /** RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes." */
  public static final int MAX_RECORD_FRAGMENT = 1 << 14;
  /** Handshake header: msg_type(1) length(3). */
  public static final int HANDSHAKE_HEADER_BYTES = 4;

  static final int CONTENT_TYPE_HANDSHAKE = 22;
  static final int HANDSHAKE_CLIENT_HELLO = 1;
  static final int EXTENSION_SERVER_NAME = 0;
  /** RFC 7301 §3.1: application_layer_protocol_negotiation(16). */
  static final int EXTENSION_ALPN = 16;
  static final int NAME_TYPE_HOST_NAME = 0;

  private ClientHello() {
  }

  /** What the bytes so far say. */
  public sealed interface Result permits NeedMore, Found, NoSni, NotTls, Malformed {
  }

  /**
   * No decision yet. Nothing can change before the buffer holds {@code atLeast} bytes, so a caller
   * fed one byte at a time need not parse again until then (it keeps the work linear).
   */
  public record NeedMore(int atLeast) implements Result {
  }

  /**
   * A whole ClientHello with a server_name extension holding one host_name.
   *
   * @param serverName  the host_name exactly as sent (not yet normalised)
   * @param helloLength bytes of the handshake message, header included
   * @param protocols   the ALPN protocol names offered, in the client's order (empty: no ALPN
   *                    extension); decoded as ISO-8859-1
   */
  public record Found(String serverName, int helloLength, List<String> protocols) implements Result {
    public Found {
      protocols = List.copyOf(protocols);
    }

    public Found(String serverName, int helloLength) {
      this(serverName, helloLength, List.of());
    }
  }

  /** A whole, well-formed ClientHello without a server_name extension. */
  public record NoSni(int helloLength, List<String> protocols) implements Result {
    public NoSni {
      protocols = List.copyOf(protocols);
    }

    public NoSni(int helloLength) {
      this(helloLength, List.of());
    }
  }

  /** The first byte is not a TLS handshake record (plain HTTP, SSLv2-style hello, noise). */
  public record NotTls() implements Result {
  }

  /** TLS, but broken or hostile; {@code reason} says where (for logs, never for the client). */
  public record Malformed(String reason) implements Result {
  }

  private static final NotTls NOT_TLS = new NotTls();

  // ---------------------------------------------------------------------------------------------
  // Framing
  // ---------------------------------------------------------------------------------------------

  /**
   * Reassembles the ClientHello from the bytes received so far and parses it.
   *
   * <p>Record layer, RFC 8446 §5.1:
   * <pre>
   * struct {
   *     ContentType type;                 // handshake(22)
   *     ProtocolVersion legacy_record_version;  // 0x0301 or 0x0303 for a ClientHello; we accept 0x03xx
   *     uint16 length;                    // MUST NOT exceed 2^14
   *     opaque fragment[TLSPlaintext.length];
   * } TLSPlaintext;
   * </pre>
   * "Handshake messages MAY be coalesced into a single TLSPlaintext record or fragmented across
   * several records", and "Implementations MUST NOT send zero-length fragments of Handshake types".
   *
   * <p>Handshake layer, RFC 8446 §4:
   * <pre>
   * struct {
   *     HandshakeType msg_type;    // client_hello(1)
   *     uint24 length;             // remaining bytes in message
   *     ...
   * } Handshake;
   * </pre>
   *
   * @param bytesSoFar every byte read from the connection so far (not consumed)
   * @param maxBytes   the largest ClientHello handshake message accepted (header included); the
   *                   records carrying it may take at most twice that, so a hello cut into tiny
   *                   records still costs bounded memory
   */
  public static Result parse(ByteBuf bytes, int maxBytes) {
    ByteBuf bytesSoFar = bytes.slice();   // indexes from 0; neither index of the caller's buffer moves
    int available = bytesSoFar.readableBytes();
    if (available == 0) {
      return new NeedMore(1);
    }
    if (bytesSoFar.getUnsignedByte(0) != CONTENT_TYPE_HANDSHAKE) {
      return NOT_TLS;
    }
    int maxRecordBytes = 2 * maxBytes;
    int offset = 0;              // start of the current record
    int handshakeBytes = 0;      // handshake bytes seen in complete and partial records
    int messageLength = -1;      // 4 + uint24 length, once the handshake header is seen
    byte[] header = new byte[HANDSHAKE_HEADER_BYTES];
    while (true) {
      if (offset > maxRecordBytes) {
        return new Malformed("ClientHello records larger than " + maxRecordBytes + " bytes");
      }
      // Check each header byte as soon as it is there: refuse early, never wait on a bad header.
      if (offset < available && bytesSoFar.getUnsignedByte(offset) != CONTENT_TYPE_HANDSHAKE) {
        return new Malformed("record at " + offset + ": content type " + bytesSoFar.getUnsignedByte(offset)
            + " inside a ClientHello");
      }
      if (offset + 1 < available && bytesSoFar.getUnsignedByte(offset + 1) != 0x03) {
        return new Malformed("record at " + offset + ": legacy_record_version 0x"
            + hex2(bytesSoFar.getUnsignedByte(offset + 1)) + "xx is not 0x03xx");
      }
      if (offset + RECORD_HEADER_BYTES > available) {
        // The content type and version bytes decide on their own, so until both are here the next
        // byte may settle it (found by ClientHelloFuzzTest: a bad type right after a record that
        // ended exactly at the buffer's end waited for the deadline instead of being refused).
        return new NeedMore(available - offset < 2 ? available + 1 : offset + RECORD_HEADER_BYTES);
      }
      int fragmentLength = bytesSoFar.getUnsignedShort(offset + 3);
      if (fragmentLength == 0) {
        return new Malformed("record at " + offset + ": zero-length handshake fragment");
      }
      if (fragmentLength > MAX_RECORD_FRAGMENT) {
        return new Malformed("record at " + offset + ": length " + fragmentLength + " exceeds 2^14");
      }
      int fragmentStart = offset + RECORD_HEADER_BYTES;
      int recordEnd = fragmentStart + fragmentLength;
      int fragmentAvailable = Math.min(recordEnd, available) - fragmentStart;

      // Pick up the handshake header, byte by byte, wherever the records cut it.
      for (int i = 0; i < fragmentAvailable && handshakeBytes + i < HANDSHAKE_HEADER_BYTES; i++) {
        header[handshakeBytes + i] = bytesSoFar.getByte(fragmentStart + i);
      }
      handshakeBytes += fragmentAvailable;
      if (handshakeBytes >= 1 && (header[0] & 0xff) != HANDSHAKE_CLIENT_HELLO) {
        return new Malformed("handshake type " + (header[0] & 0xff) + " is not client_hello(1)");
      }
      if (messageLength < 0 && handshakeBytes >= HANDSHAKE_HEADER_BYTES) {
        messageLength = HANDSHAKE_HEADER_BYTES
            + ((header[1] & 0xff) << 16 | (header[2] & 0xff) << 8 | (header[3] & 0xff));
        if (messageLength > maxBytes) {
          return new Malformed("ClientHello larger than " + maxBytes + " bytes (claims " + messageLength + ")");
        }
      }
      if (messageLength >= 0 && handshakeBytes >= messageLength) {
        if (recordEnd > available) {
          // The message is complete but its record is not: wait for the whole record.
          return new NeedMore(recordEnd);
        }
        return parseMessage(gather(bytesSoFar, recordEnd, messageLength), maxBytes);
      }
      if (recordEnd > available) {
        // Until the handshake header is whole, every byte can decide; after it, the record end.
        return new NeedMore(messageLength < 0 ? available + 1 : recordEnd);
      }
      offset = recordEnd;
    }
  }

  /** {@link #parse(ByteBuf, int)} of a Vert.x buffer (a copy; for tests and tools, not the data path). */
  public static Result parse(Buffer bytesSoFar, int maxBytes) {
    return parse(Unpooled.wrappedBuffer(bytesSoFar.getBytes()), maxBytes);
  }

  /** Copies the first {@code messageLength} handshake bytes out of the (already checked) records before {@code end}. */
  private static byte[] gather(ByteBuf records, int end, int messageLength) {
    byte[] message = new byte[messageLength];
    int copied = 0;
    int offset = 0;
    while (copied < messageLength && offset < end) {
      int length = records.getUnsignedShort(offset + 3);
      int take = Math.min(length, messageLength - copied);
      records.getBytes(offset + RECORD_HEADER_BYTES, message, copied, take);
      copied += take;
      offset += RECORD_HEADER_BYTES + length;
    }
    return message;
  }

  // ---------------------------------------------------------------------------------------------
  // Parsing
  // ---------------------------------------------------------------------------------------------

  /**
   * Parses one whole handshake message (header included) that framing found to be a client_hello.
   *
   * <p>RFC 8446 §4.1.2 (the same layout as TLS 1.2's, RFC 5246 §7.4.1.2):
   * <pre>
   * uint16 ProtocolVersion;
   * opaque Random[32];
   * uint8 CipherSuite[2];    // Cryptographic suite selector
   *
   * struct {
   *     ProtocolVersion legacy_version = 0x0303;    // TLS v1.2
   *     Random random;
   *     opaque legacy_session_id&lt;0..32&gt;;
   *     CipherSuite cipher_suites&lt;2..2^16-2&gt;;
   *     opaque legacy_compression_methods&lt;1..2^8-1&gt;;
   *     Extension extensions&lt;8..2^16-1&gt;;
   * } ClientHello;
   *
   * struct {
   *     ExtensionType extension_type;
   *     opaque extension_data&lt;0..2^16-1&gt;;
   * } Extension;
   * </pre>
   * RFC 5246 §7.4.1.2 lets a TLS 1.2 (or older) client send no extensions at all: "the presence of
   * extensions can be detected by determining whether there are bytes following the
   * compression_methods". RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type".
   */
  static Result parseMessage(byte[] message, int maxBytes) {
    if (message.length > maxBytes) {
      return new Malformed("ClientHello larger than " + maxBytes + " bytes");
    }
    Reader hello = new Reader(message, HANDSHAKE_HEADER_BYTES, message.length);
    try {
      hello.skip(2, "legacy_version");
      hello.skip(32, "random");
      int sessionIdLength = hello.u8("legacy_session_id length");
      if (sessionIdLength > 32) {
        throw new Bad("legacy_session_id longer than 32 bytes");
      }
      hello.skip(sessionIdLength, "legacy_session_id");
      int cipherSuitesLength = hello.u16("cipher suites length");
      if (cipherSuitesLength < 2 || cipherSuitesLength % 2 != 0) {
        throw new Bad("cipher suites length " + cipherSuitesLength + " is not an even number >= 2");
      }
      hello.skip(cipherSuitesLength, "cipher suites");
      int compressionLength = hello.u8("compression methods length");
      if (compressionLength < 1) {
        throw new Bad("no compression methods");
      }
      hello.skip(compressionLength, "compression methods");
      if (!hello.hasRemaining()) {
        return new NoSni(message.length);
      }
      Reader extensions = hello.sub(hello.u16("extensions length"), "extensions");
      if (hello.hasRemaining()) {
        throw new Bad(hello.remaining() + " trailing bytes after extensions");
      }
      Set<Integer> seen = new HashSet<>();
      String serverName = null;
      List<String> protocols = List.of();
      while (extensions.hasRemaining()) {
        int type = extensions.u16("extension type");
        int length = extensions.u16("extension length");
        if (length > extensions.remaining()) {   // named only on failure: a name per extension cost ~2 % of a frontend's CPU
          throw new Bad("reading extension 0x" + hex4(type) + ": truncated");
        }
        Reader data = extensions.sub(length, "extension");
        if (!seen.add(type)) {
          throw new Bad(type == EXTENSION_SERVER_NAME ? "duplicate server_name extension"
              : "duplicate extension 0x" + hex4(type));
        }
        if (type == EXTENSION_SERVER_NAME) {
          serverName = hostName(data);
        } else if (type == EXTENSION_ALPN) {
          protocols = protocolNames(data);
        }
      }
      return serverName == null ? new NoSni(message.length, protocols)
          : new Found(serverName, message.length, protocols);
    } catch (Bad bad) {
      return new Malformed(bad.getMessage());
    }
  }

  /**
   * The host_name in a server_name extension's data.
   *
   * <p>RFC 6066 §3:
   * <pre>
   * struct {
   *     NameType name_type;
   *     select (name_type) {
   *         case host_name: HostName;
   *     } name;
   * } ServerName;
   *
   * enum {
   *     host_name(0), (255)
   * } NameType;
   *
   * opaque HostName&lt;1..2^16-1&gt;;
   *
   * struct {
   *     ServerName server_name_list&lt;1..2^16-1&gt;
   * } ServerNameList;
   * </pre>
   * "The ServerNameList MUST NOT contain more than one name of the same name_type." Only host_name
   * is defined, and the layout of any other type is unknown, so another type is refused rather than
   * guessed past.
   */
  private static String hostName(Reader data) {
    Reader list = data.sub(data.u16("server_name list length"), "server_name list");
    if (data.hasRemaining()) {
      throw new Bad("server_name: " + data.remaining() + " trailing bytes after the list");
    }
    if (!list.hasRemaining()) {
      throw new Bad("server_name: empty list");
    }
    String hostName = null;
    while (list.hasRemaining()) {
      int nameType = list.u8("server_name name_type");
      if (nameType != NAME_TYPE_HOST_NAME) {
        throw new Bad("server_name: name_type " + nameType + " is not host_name(0)");
      }
      int length = list.u16("host_name length");
      if (length == 0) {
        throw new Bad("server_name: empty host_name");
      }
      String name = list.string(length, "host_name");
      if (hostName != null) {
        throw new Bad("server_name: more than one host_name");
      }
      hostName = name;
    }
    return hostName;
  }

  /**
   * The protocol names in an application_layer_protocol_negotiation extension's data.
   *
   * <p>RFC 7301 §3.1:
   * <pre>
   * opaque ProtocolName&lt;1..2^8-1&gt;;
   *
   * struct {
   *     ProtocolName protocol_name_list&lt;2..2^16-1&gt;
   * } ProtocolNameList;
   * </pre>
   */
  private static List<String> protocolNames(Reader data) {
    Reader list = data.sub(data.u16("ALPN list length"), "ALPN list");
    if (data.hasRemaining()) {
      throw new Bad("ALPN: " + data.remaining() + " trailing bytes after the list");
    }
    if (!list.hasRemaining()) {
      throw new Bad("ALPN: empty list");
    }
    List<String> names = new ArrayList<>();
    while (list.hasRemaining()) {
      int length = list.u8("ALPN protocol name length");
      if (length == 0) {
        throw new Bad("ALPN: empty protocol name");
      }
      names.add(list.string(length, "ALPN protocol name"));
    }
    return names;
  }

  /** Reads big-endian fields from {@code [position, limit)}, refusing any read past the limit. */
  private static final class Reader {
    private final byte[] bytes;
    private int position;
    private final int limit;

    Reader(byte[] bytes, int position, int limit) {
      this.bytes = bytes;
      this.position = position;
      this.limit = limit;
    }

    boolean hasRemaining() {
      return position < limit;
    }

    int remaining() {
      return limit - position;
    }

    private void require(int n, String what) {
      if (n > limit - position) {
        throw new Bad("reading " + what + ": truncated");
      }
    }

    int u8(String what) {
      require(1, what);
      return bytes[position++] & 0xff;
    }

    int u16(String what) {
      require(2, what);
      int value = (bytes[position] & 0xff) << 8 | (bytes[position + 1] & 0xff);
      position += 2;
      return value;
    }

    void skip(int n, String what) {
      require(n, what);
      position += n;
    }

    String string(int n, String what) {
      require(n, what);
      String s = new String(bytes, position, n, StandardCharsets.ISO_8859_1);
      position += n;
      return s;
    }

    /** The next {@code n} bytes as their own reader; this one moves past them. */
    Reader sub(int n, String what) {
      require(n, what);
      Reader sub = new Reader(bytes, position, position + n);
      position += n;
      return sub;
    }
  }

  /** A parse refusal; cheap (no stack trace), never escapes this class. */
  private static final class Bad extends RuntimeException {
    Bad(String reason) {
      super(reason, null, false, false);
    }
  }

  private static String hex2(int b) {
    return String.format("%02x", b);
  }

  private static String hex4(int v) {
    return String.format("%04x", v);
  }
}
