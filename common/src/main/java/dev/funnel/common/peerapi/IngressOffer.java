package dev.funnel.common.peerapi;

import dev.funnel.common.net.HostPort;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The peerapi ingress offer a gateway writes on an idle data connection (DESIGN.md):
 *
 * <pre>
 * POST /v0/ingress HTTP/1.1
 * Host: peer
 * Funnel-Ingress-Src: 203.0.113.7:53211
 * Funnel-Ingress-Target: web.demo.funnel.example:443
 * </pre>
 *
 * Path, method and status codes follow Tailscale's peerapi ingress handler. {@link #parse} is pure.
 */
public record IngressOffer(HostPort source, HostPort target) {

  public static final String PATH = "/v0/ingress";
  public static final String SRC_HEADER = "Funnel-Ingress-Src";
  public static final String TARGET_HEADER = "Funnel-Ingress-Target";

  /** An offer's head is a few hundred bytes; anything past this is not an offer. */
  public static final int MAX_HEAD_BYTES = 8 * 1024;

  public Buffer encode() {
    return Buffer.buffer("POST " + PATH + " HTTP/1.1\r\nHost: peer\r\n"
        + SRC_HEADER + ": " + source + "\r\n"
        + TARGET_HEADER + ": " + target + "\r\n\r\n");
  }

  /** What the node learnt from the bytes so far. */
  public sealed interface Parsed {
  }

  public record NeedMore() implements Parsed {
  }

  /** A well-formed offer whose head is {@code consumed} bytes; anything after is the client's stream. */
  public record Offer(IngressOffer offer, int consumed) implements Parsed {
  }

  /** Not an acceptable offer: answer {@code status} (400 malformed, 404 wrong path, 405 not POST) and close. */
  public record Reject(int status, String reason) implements Parsed {
  }

  public static Parsed parse(Buffer buf) {
    int end = HttpHead.find(buf, MAX_HEAD_BYTES);
    if (end == HttpHead.TOO_LARGE) {
      return new Reject(400, "request head larger than " + MAX_HEAD_BYTES + " bytes");
    }
    if (end == HttpHead.INCOMPLETE) {
      return new NeedMore();
    }
    String head = buf.getString(0, end, StandardCharsets.ISO_8859_1.name());
    String unfolded = head.replace("\r\n", "");
    if (unfolded.indexOf('\r') >= 0 || unfolded.indexOf('\n') >= 0) {
      return new Reject(400, "malformed header line: bare CR or LF");
    }
    // Our offers are ASCII (found by IngressFuzzTest: a non-ASCII byte in a name read as Latin-1
    // here is not the name the gateway meant; such a head is not ours, so refuse it).
    for (int i = 0; i < unfolded.length(); i++) {
      char c = unfolded.charAt(i);
      if ((c < 0x20 && c != '\t') || c > 0x7e) {
        return new Reject(400, "byte 0x" + Integer.toHexString(c) + " in the head is not printable ASCII");
      }
    }
    String[] lines = head.split("\r\n", -1);
    String[] requestLine = lines[0].split(" ", -1);
    if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
      return new Reject(400, "malformed request line");
    }
    if (!requestLine[0].equals("POST")) {
      return new Reject(405, "method " + HttpHead.printable(requestLine[0]) + " not allowed");
    }
    if (!requestLine[1].equals(PATH)) {
      return new Reject(404, "unknown path");
    }
    String src = null;
    String target = null;
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i];
      if (line.isEmpty()) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || line.substring(0, colon).chars().anyMatch(c -> c <= ' ')) {
        return new Reject(400, "malformed header line");
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      if (name.equals("funnel-ingress-src")) {
        if (src != null) {
          return new Reject(400, "duplicate " + SRC_HEADER);
        }
        src = value;
      } else if (name.equals("funnel-ingress-target")) {
        if (target != null) {
          return new Reject(400, "duplicate " + TARGET_HEADER);
        }
        target = value;
      }
    }
    if (src == null || target == null) {
      return new Reject(400, "missing " + (src == null ? SRC_HEADER : TARGET_HEADER));
    }
    HostPort source;
    HostPort targetHp;
    try {
      source = HostPort.parse(src);
      targetHp = HostPort.parse(target);
    } catch (IllegalArgumentException e) {
      return new Reject(400, "bad address: " + e.getMessage());
    }
    return new Offer(new IngressOffer(source, targetHp), end);
  }
}
