package dev.funnel.common.peerapi;

import dev.funnel.common.net.HostPort;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.ArrayList;
import java.util.List;

/**
 * The peerapi ingress offer: one HTTP/2 stream the gateway opens on a connection the node dialled
 * (DESIGN.md, "Ingress offer"):
 *
 * <pre>
 * :method POST   :path /v0/ingress   :scheme https   :authority peer
 * funnel-ingress-src: 203.0.113.7:53211
 * funnel-ingress-target: web.demo.funnel.example:443
 * </pre>
 *
 * The node answers {@code 200} and the stream then carries the client's raw bytes both ways
 * (END_STREAM is half-close), or {@code 400} malformed, {@code 403} not funnelled here, {@code 405}
 * not POST, {@code 503} local target down, and the stream ends ({@link IngressAnswer}). Path,
 * method and status codes follow Tailscale's peerapi ingress handler (which answers {@code 101} on
 * HTTP/1.1; HTTP/2 has none). {@link #parse(String, String, List, List)} is pure.
 */
public record IngressOffer(HostPort source, HostPort target) {

  public static final String PATH = "/v0/ingress";
  public static final String SRC_HEADER = "funnel-ingress-src";
  public static final String TARGET_HEADER = "funnel-ingress-target";

  /** The request headers of this offer. */
  public Http2Headers toHeaders() {
    return new DefaultHttp2Headers()
        .method("POST").path(PATH).scheme("https").authority("peer")
        .add(SRC_HEADER, source.toString())
        .add(TARGET_HEADER, target.toString());
  }

  /** What the node makes of a stream's request headers. */
  public sealed interface Parsed {
  }

  /** A well-formed offer. */
  public record Offer(IngressOffer offer) implements Parsed {
  }

  /** Not an acceptable offer: answer {@code status} (400 malformed, 404 wrong path, 405 not POST) and end the stream. */
  public record Reject(int status, String reason) implements Parsed {
  }

  /** {@link #parse(String, String, List, List)} over a stream's request headers. */
  public static Parsed parse(Http2Headers headers) {
    return parse(string(headers.method()), string(headers.path()), values(headers, SRC_HEADER),
        values(headers, TARGET_HEADER));
  }

  /**
   * The decision over the request's method, path and every value of the two headers (in order).
   * Pure: no I/O, no logging.
   */
  public static Parsed parse(String method, String path, List<String> src, List<String> target) {
    if (!"POST".equals(method)) {
      return new Reject(IngressAnswer.METHOD_NOT_ALLOWED, "method " + printable(method) + " not allowed");
    }
    if (!PATH.equals(path)) {
      return new Reject(IngressAnswer.NOT_FOUND, "unknown path");
    }
    if (src.size() != 1 || target.size() != 1) {
      String which = src.size() != 1 ? SRC_HEADER : TARGET_HEADER;
      return new Reject(IngressAnswer.BAD_REQUEST, (src.size() > 1 || target.size() > 1 ? "duplicate " : "missing ")
          + which);
    }
    for (String value : List.of(src.get(0), target.get(0))) {
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c < 0x21 || c > 0x7e) {
          return new Reject(IngressAnswer.BAD_REQUEST, "character 0x" + Integer.toHexString(c)
              + " in a header is not printable ASCII");
        }
      }
    }
    try {
      return new Offer(new IngressOffer(HostPort.parse(src.get(0)), HostPort.parse(target.get(0))));
    } catch (IllegalArgumentException e) {
      return new Reject(IngressAnswer.BAD_REQUEST, "bad address: " + e.getMessage());
    }
  }

  private static List<String> values(Http2Headers headers, String name) {
    List<String> out = new ArrayList<>(1);
    for (CharSequence value : headers.getAll(name)) {
      out.add(value.toString());
    }
    return out;
  }

  private static String string(CharSequence value) {
    return value == null ? null : value.toString();
  }

  /** Values come from the network: keep log lines to printable ASCII and a sane length. */
  public static String printable(String s) {
    if (s == null) {
      return "(none)";
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && out.length() < 100; i++) {
      char c = s.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return out.toString();
  }
}
