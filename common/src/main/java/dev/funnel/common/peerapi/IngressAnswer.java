package dev.funnel.common.peerapi;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * The node's answer to an {@link IngressOffer}: the {@code :status} of the stream's response
 * HEADERS. {@link #OK} opens the tunnel (no END_STREAM); any other status ends the stream, with a
 * short reason for the gateway's log in {@link #REASON_HEADER}.
 */
public final class IngressAnswer {

  public static final int OK = 200;
  public static final int BAD_REQUEST = 400;
  public static final int FORBIDDEN = 403;
  public static final int NOT_FOUND = 404;
  public static final int METHOD_NOT_ALLOWED = 405;
  public static final int UNAVAILABLE = 503;

  /** Why a stream was refused, in words (printable ASCII, at most 200 characters). */
  public static final String REASON_HEADER = "funnel-reason";

  private IngressAnswer() {
  }

  public static Http2Headers accept() {
    return new DefaultHttp2Headers().status("200");
  }

  public static Http2Headers refuse(int status, String reason) {
    String printable = IngressOffer.printable(reason);
    return new DefaultHttp2Headers().status(Integer.toString(status))
        .add(REASON_HEADER, printable.length() > 200 ? printable.substring(0, 200) : printable);
  }

  /** The status of response headers, or -1 when it is missing or not a number. */
  public static int status(Http2Headers headers) {
    CharSequence status = headers.status();
    if (status == null) {
      return -1;
    }
    try {
      return Integer.parseInt(status.toString());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The reason a refusal gave, or "" when none. */
  public static String reason(Http2Headers headers) {
    CharSequence reason = headers.get(REASON_HEADER);
    return reason == null ? "" : IngressOffer.printable(reason.toString());
  }
}
