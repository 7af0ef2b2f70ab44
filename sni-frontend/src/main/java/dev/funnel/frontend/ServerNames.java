package dev.funnel.frontend;

import dev.funnel.common.Hostnames;
import java.util.Optional;

/** Which SNI names the frontend may route: the naming rules of {@link Hostnames}, applied to what a client sent. */
final class ServerNames {

  private ServerNames() {
  }

  /**
   * The routable public name for {@code serverName} as the client sent it: normalised (lower case,
   * trailing dot removed) and exactly {@code NODE.TAILNET.domain}. Empty for anything else: IP
   * literals, bad characters, other domains, names with too few or too many labels.
   */
  static Optional<String> routable(String serverName, String domain) {
    return Hostnames.normalise(serverName)
        .flatMap(name -> Hostnames.parse(name, domain))
        .map(Hostnames.FunnelName::fqdn);
  }

  /** {@code domain} as configured, in the form names are compared with (lower case, no trailing dot). */
  static String canonicalDomain(String domain) {
    return Hostnames.normalise(domain)
        .orElseThrow(() -> new IllegalArgumentException("not a domain name: '" + domain + "'"));
  }

  /** A name from the network, safe to put in one log line: printable ASCII, quotes and backslashes escaped, cut at 255. */
  static String forLog(String raw) {
    StringBuilder out = new StringBuilder(Math.min(raw.length(), 255) + 2).append('"');
    for (int i = 0; i < raw.length() && i < 255; i++) {
      char c = raw.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20 || c > 0x7e) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
