package dev.funnel.terminator.auth;

import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The request headers that tell the backend who passed the login gate. Incoming copies are removed from
 * every request before any gate runs (also on routes with no gate: {@code ForwardedHeaders} strips them),
 * so a value the backend sees was set by the gate.
 */
public final class UserHeaders {

  public static final String EMAIL = "Funnel-User-Email";
  public static final String NAME = "Funnel-User-Name";
  public static final List<String> ALL = List.of(EMAIL, NAME);

  private UserHeaders() {
  }

  /** Removes every copy of the user headers. */
  public static void removeFrom(MultiMap headers) {
    for (String name : ALL) {
      headers.remove(name);
    }
  }

  /**
   * A header value for a user's email or name: printable ASCII as it is; anything else (non-ASCII
   * letters, control characters) as an RFC 2047 encoded word, {@code =?utf-8?q?…?=}, as Tailscale does.
   */
  public static String headerValue(String value) {
    boolean plain = true;
    for (int i = 0; i < value.length() && plain; i++) {
      char c = value.charAt(i);
      plain = c >= 0x20 && c < 0x7f;
    }
    if (plain && !value.startsWith("=?")) {
      return value;
    }
    StringBuilder sb = new StringBuilder("=?utf-8?q?");
    for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
      int u = b & 0xff;
      if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || "!*+-/".indexOf(u) >= 0) {
        sb.append((char) u);
      } else if (u == ' ') {
        sb.append('_');
      } else {
        sb.append('=').append(String.format("%02X", u));
      }
    }
    return sb.append("?=").toString();
  }
}
