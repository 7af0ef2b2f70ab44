package dev.funnel.frontend;

import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Route;
import dev.funnel.frontend.FrontendMetrics.Outcome;
import java.time.Instant;

/**
 * The access log: one logfmt line per connection on logger {@code funnel.access} at INFO, routed
 * (when the tunnel ends) or refused (outcome = the refusal's metric label, reason = the log
 * line's words), unless {@code FrontendOptions#isAccessLog()} is off. {@code duration_ms} runs from
 * accept to the end; {@code setup_ms} from the whole hello to the node's stream ({@code -} when
 * refused); {@code bytes_in} is what the client sent (the hello included), {@code bytes_out} what
 * it received (an alert is 7 bytes).
 */
final class AccessLog {

  private static final System.Logger ACCESS = System.getLogger("funnel.access");

  private final boolean enabled;
  private final int publicPort;

  AccessLog(boolean enabled, int publicPort) {
    this.enabled = enabled;
    this.publicPort = publicPort;
  }

  void line(Outcome outcome, String reason, String sni, String client, Route used, long setupNanos, long bytesIn,
            long bytesOut, long acceptedNanos) {
    if (!enabled) {
      return;
    }
    StringBuilder line = new StringBuilder(256)
        .append("time=").append(Instant.now())
        .append(" port=").append(publicPort)
        .append(" sni=").append(sni == null ? "-" : logfmt(sni))
        .append(" client=").append(client)
        .append(" node=").append(used == null ? "-" : logfmt(used.nodeId()))
        .append(" gateway=").append(used == null ? "-" : logfmt(used.gatewayId()))
        .append(" outcome=").append(outcome.tag())
        .append(" setup_ms=").append(setupNanos < 0 ? "-" : Long.toString(setupNanos / 1_000_000))
        .append(" bytes_in=").append(bytesIn)
        .append(" bytes_out=").append(bytesOut)
        .append(" duration_ms=").append((System.nanoTime() - acceptedNanos) / 1_000_000);
    if (reason != null) {
      line.append(" reason=").append(logfmt(reason));
    }
    ACCESS.log(INFO, line.toString());
  }

  /**
   * A logfmt value: as is when it is one plain printable-ASCII token, else double-quoted, with
   * quotes and backslashes escaped and anything outside printable ASCII written as a hex escape.
   */
  static String logfmt(String value) {
    boolean plain = !value.isEmpty();
    for (int i = 0; i < value.length() && plain; i++) {
      char c = value.charAt(i);
      plain = c > ' ' && c < 0x7f && c != '"' && c != '=' && c != '\\';
    }
    if (plain) {
      return value;
    }
    StringBuilder out = new StringBuilder(value.length() + 2).append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < ' ' || c >= 0x7f) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
