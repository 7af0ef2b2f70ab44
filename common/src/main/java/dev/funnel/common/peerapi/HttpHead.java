package dev.funnel.common.peerapi;

import io.vertx.core.buffer.Buffer;

/** Finds the end of an HTTP/1.1 head (the byte after CRLFCRLF) within a cap. */
final class HttpHead {

  static final int INCOMPLETE = -1;
  static final int TOO_LARGE = -2;

  private HttpHead() {
  }

  static int find(Buffer buf, int maxBytes) {
    int limit = Math.min(buf.length(), maxBytes);
    for (int i = 3; i < limit; i++) {
      if (buf.getByte(i) == '\n' && buf.getByte(i - 1) == '\r' && buf.getByte(i - 2) == '\n'
          && buf.getByte(i - 3) == '\r') {
        return i + 1;
      }
    }
    return buf.length() >= maxBytes ? TOO_LARGE : INCOMPLETE;
  }

  /** A token safe to put in a log line: printable ASCII, at most 16 characters. */
  static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length() && out.length() < 16; i++) {
      char c = s.charAt(i);
      out.append(c >= 0x21 && c < 0x7f ? c : '?');
    }
    return out.toString();
  }
}
