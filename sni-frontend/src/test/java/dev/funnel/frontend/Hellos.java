package dev.funnel.frontend;

import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLParameters;

/**
 * Real and hand-made ClientHellos for tests, and a second, independent walk of the ClientHello
 * layout (so tests do not check the parser against itself).
 */
final class Hellos {

  static final String NAME = "web.demo.funnel.localhost";
  static final String DOMAIN = "funnel.localhost";

  /** The captures in src/test/resources/clienthellos (see the README there for how they were made). */
  static final List<String> CAPTURES = List.of(
      "openssl-tls12", "openssl-tls13", "curl-tls12", "curl-tls13");

  private Hellos() {
  }

  /** A captured hello: the raw bytes the client sent, records and all. */
  static Buffer capture(String name) {
    try (InputStream in = Hellos.class.getResourceAsStream("/clienthellos/" + name + ".hex")) {
      if (in == null) {
        throw new IllegalArgumentException("no capture " + name);
      }
      return Buffer.buffer(HexFormat.of().parseHex(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The first flight of the JDK's own TLS client (client mode, SNI set), {@code wrap()}ped into a buffer. */
  static Buffer jdk(String protocol, String serverName) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, null, null);
      SSLEngine engine = context.createSSLEngine(serverName, 443);
      engine.setUseClientMode(true);
      SSLParameters parameters = engine.getSSLParameters();
      parameters.setServerNames(List.of(new SNIHostName(serverName)));
      parameters.setProtocols(new String[] {protocol});
      engine.setSSLParameters(parameters);
      engine.beginHandshake();
      ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      SSLEngineResult result = engine.wrap(ByteBuffer.allocate(0), out);
      if (result.getStatus() != SSLEngineResult.Status.OK) {
        throw new IllegalStateException("wrap: " + result);
      }
      out.flip();
      byte[] bytes = new byte[out.remaining()];
      out.get(bytes);
      return Buffer.buffer(bytes);
    } catch (GeneralSecurityException | javax.net.ssl.SSLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The handshake message (header included) carried by {@code records}: every fragment, concatenated. */
  static byte[] message(Buffer records) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int offset = 0;
    while (offset + 5 <= records.length()) {
      int length = records.getUnsignedShort(offset + 3);
      out.write(records.getBytes(offset + 5, offset + 5 + length), 0, length);
      offset += 5 + length;
    }
    return out.toByteArray();
  }

  /** {@code message} framed into handshake records of at most {@code fragment} bytes each. */
  static Buffer records(byte[] message, int fragment) {
    Buffer out = Buffer.buffer();
    for (int offset = 0; offset < message.length; offset += fragment) {
      int length = Math.min(fragment, message.length - offset);
      out.appendByte((byte) 22).appendByte((byte) 3).appendByte((byte) 1).appendUnsignedShort(length);
      out.appendBytes(message, offset, length);
    }
    return out;
  }

  static Buffer records(byte[] message) {
    return records(message, 16384);
  }

  // --- building hellos by hand ----------------------------------------------------------------

  /** An extension: type, then its data with a 16-bit length. */
  static byte[] extension(int type, byte[] data) {
    return concat(u16(type), u16(data.length), data);
  }

  /** server_name extension data holding the given (name_type, name) entries. */
  static byte[] serverNameList(Object... typeAndName) {
    ByteArrayOutputStream list = new ByteArrayOutputStream();
    for (int i = 0; i < typeAndName.length; i += 2) {
      byte[] name = ((String) typeAndName[i + 1]).getBytes(StandardCharsets.ISO_8859_1);
      list.writeBytes(concat(new byte[] {(byte) (int) (Integer) typeAndName[i]}, u16(name.length), name));
    }
    return concat(u16(list.size()), list.toByteArray());
  }

  static byte[] sni(String name) {
    return extension(0, serverNameList(0, name));
  }

  /** A TLS 1.2-shaped ClientHello with these extensions; {@code extensions == null} means no extensions block at all. */
  static byte[] helloWith(byte[]... extensions) {
    byte[] random = new byte[32];
    new Random(7).nextBytes(random);
    byte[] body = concat(new byte[] {3, 3}, random, new byte[] {0}, u16(4), new byte[] {(byte) 0xc0, 0x2f, 0x13, 0x01},
        new byte[] {1, 0});
    if (extensions != null) {
      byte[] block = concat(extensions);
      body = concat(body, u16(block.length), block);
    }
    return concat(new byte[] {1}, u24(body.length), body);
  }

  static byte[] noExtensionsBlock() {
    return helloWith((byte[][]) null);
  }

  // --- an independent walk of the layout, for the hostile-input tests --------------------------

  /** A length field inside a handshake message: where, how wide, and what it measures. */
  record LengthField(String name, int offset, int width) {
    long read(byte[] m) {
      long v = 0;
      for (int i = 0; i < width; i++) {
        v = v << 8 | (m[offset + i] & 0xff);
      }
      return v;
    }

    byte[] with(byte[] m, long value) {
      byte[] copy = m.clone();
      for (int i = width - 1, shift = 0; i >= 0; i--, shift += 8) {
        copy[offset + i] = (byte) (value >>> shift);
      }
      return copy;
    }

    @Override
    public String toString() {
      return name + "@" + offset;
    }
  }

  /** Every length field of a well-formed ClientHello message, in order. */
  static List<LengthField> lengthFields(byte[] m) {
    List<LengthField> fields = new ArrayList<>();
    fields.add(new LengthField("handshake length", 1, 3));
    int p = 4 + 2 + 32;
    fields.add(new LengthField("legacy_session_id", p, 1));
    p += 1 + (m[p] & 0xff);
    fields.add(new LengthField("cipher_suites", p, 2));
    p += 2 + u16(m, p);
    fields.add(new LengthField("compression_methods", p, 1));
    p += 1 + (m[p] & 0xff);
    if (p == m.length) {
      return fields;
    }
    fields.add(new LengthField("extensions", p, 2));
    int end = p + 2 + u16(m, p);
    p += 2;
    while (p < end) {
      int type = u16(m, p);
      int length = u16(m, p + 2);
      fields.add(new LengthField(String.format("extension 0x%04x", type), p + 2, 2));
      if (type == 0) {
        int q = p + 4;
        fields.add(new LengthField("server_name_list", q, 2));
        int listEnd = q + 2 + u16(m, q);
        q += 2;
        while (q < listEnd) {
          fields.add(new LengthField("host_name", q + 1, 2));
          q += 3 + u16(m, q + 1);
        }
      }
      p += 4 + length;
    }
    return fields;
  }

  /**
   * {@code m} (a TLS 1.3 ClientHello) with a 1,216-byte X25519MLKEM768 (group 0x11ec) key share
   * put first in key_share and 0x11ec put first in supported_groups, every length fixed up: the
   * size of a real post-quantum hello from a current browser.
   */
  static byte[] withMlKemKeyShare(byte[] m) {
    int p = 4 + 2 + 32;
    p += 1 + (m[p] & 0xff);
    p += 2 + u16(m, p);
    p += 1 + (m[p] & 0xff);
    ByteArrayOutputStream extensions = new ByteArrayOutputStream();
    int end = p + 2 + u16(m, p);
    byte[] head = java.util.Arrays.copyOfRange(m, 4, p);
    int q = p + 2;
    boolean sawKeyShare = false;
    while (q < end) {
      int type = u16(m, q);
      int length = u16(m, q + 2);
      byte[] data = java.util.Arrays.copyOfRange(m, q + 4, q + 4 + length);
      if (type == 0x000a) {          // supported_groups: NamedGroup named_group_list<2..2^16-1>
        byte[] groups = java.util.Arrays.copyOfRange(data, 2, data.length);
        data = concat(u16(groups.length + 2), u16(0x11ec), groups);
      } else if (type == 0x0033) {   // key_share: KeyShareEntry client_shares<0..2^16-1>
        byte[] keyExchange = new byte[1216];
        new Random(11).nextBytes(keyExchange);
        byte[] entry = concat(u16(0x11ec), u16(keyExchange.length), keyExchange);
        byte[] shares = java.util.Arrays.copyOfRange(data, 2, data.length);
        data = concat(u16(entry.length + shares.length), entry, shares);
        sawKeyShare = true;
      }
      extensions.writeBytes(extension(type, data));
      q += 4 + length;
    }
    if (!sawKeyShare) {
      throw new IllegalArgumentException("not a TLS 1.3 hello: no key_share");
    }
    byte[] body = concat(head, u16(extensions.size()), extensions.toByteArray());
    return concat(new byte[] {1}, u24(body.length), body);
  }

  // --- bytes ------------------------------------------------------------------------------------

  static int u16(byte[] m, int p) {
    return (m[p] & 0xff) << 8 | (m[p + 1] & 0xff);
  }

  static byte[] u16(int v) {
    return new byte[] {(byte) (v >>> 8), (byte) v};
  }

  static byte[] u24(int v) {
    return new byte[] {(byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }
}
