package dev.funnel.common.peerapi;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/** The node's answer to an {@link IngressOffer}: a status line, headers, and (on 101) the raw stream. */
public final class IngressAnswer {

  private IngressAnswer() {
  }

  public static final int SWITCHING_PROTOCOLS = 101;

  /** The bytes a node writes to answer {@code status}. */
  public static Buffer encode(int status) {
    if (status == SWITCHING_PROTOCOLS) {
      return Buffer.buffer("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: funnel-ingress\r\n\r\n");
    }
    return Buffer.buffer("HTTP/1.1 " + status + " " + reason(status)
        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  }

  static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 503 -> "Service Unavailable";
      default -> "Error";
    };
  }

  public sealed interface Parsed {
  }

  public record NeedMore() implements Parsed {
  }

  /** The node answered {@code status}; the answer's head is {@code consumed} bytes. */
  public record Status(int status, int consumed) implements Parsed {
  }

  public record Malformed(String reason) implements Parsed {
  }

  public static Parsed parse(Buffer buf) {
    int end = HttpHead.find(buf, IngressOffer.MAX_HEAD_BYTES);
    if (end == HttpHead.TOO_LARGE) {
      return new Malformed("answer head larger than " + IngressOffer.MAX_HEAD_BYTES + " bytes");
    }
    if (end == HttpHead.INCOMPLETE) {
      return new NeedMore();
    }
    String head = buf.getString(0, end, StandardCharsets.ISO_8859_1.name());
    int eol = head.indexOf("\r\n");
    String statusLine = eol < 0 ? head : head.substring(0, eol);
    String[] parts = statusLine.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || parts[1].length() != 3) {
      return new Malformed("malformed status line");
    }
    try {
      int status = Integer.parseInt(parts[1]);
      if (status < 100 || status > 599) {
        return new Malformed("status out of range");
      }
      return new Status(status, end);
    } catch (NumberFormatException e) {
      return new Malformed("malformed status code");
    }
  }
}
