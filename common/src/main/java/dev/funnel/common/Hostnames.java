package dev.funnel.common;

import java.util.Locale;
import java.util.Optional;

/**
 * The naming rules of Funnel. A public name is {@code NODE.TAILNET.DOMAIN}; node and tailnet names
 * are single DNS labels. Every function is pure.
 */
public final class Hostnames {

  /** The rule {@link #isLabel} checks, in words, for messages: "… is not a DNS label (RULE)". */
  public static final String LABEL_RULE = "[a-z0-9-], 1-63 characters, no hyphen at either end";

  private Hostnames() {
  }

  /** True when {@code s} is a lower-case DNS label: {@code [a-z0-9-]}, 1–63, no hyphen at either end. */
  public static boolean isLabel(String s) {
    if (s == null || s.isEmpty() || s.length() > 63) {
      return false;
    }
    // By hand, not a regex: this runs for every label of every ClientHello a frontend routes.
    int last = s.length() - 1;
    for (int i = 0; i <= last; i++) {
      char c = s.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0 && i < last)) {
        return false;
      }
    }
    return true;
  }

  /** True for four dot-separated groups of 1–3 digits ({@code \d{1,3}(\.\d{1,3}){3}}), by hand for the same reason. */
  static boolean looksLikeIpv4(String name) {
    int groups = 0;
    int digits = 0;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c >= '0' && c <= '9') {
        if (++digits > 3) {
          return false;
        }
      } else if (c == '.' && digits > 0 && groups < 3) {
        groups++;
        digits = 0;
      } else {
        return false;
      }
    }
    return groups == 3 && digits > 0;
  }

  /**
   * Normalises a server name as a client sent it: lower case, one trailing dot removed.
   * Returns empty for names that can never be routed: empty, IP literals, bad characters.
   */
  public static Optional<String> normalise(String serverName) {
    if (serverName == null) {
      return Optional.empty();
    }
    for (int i = 0; i < serverName.length(); i++) {
      if (serverName.charAt(i) > 0x7f) {
        // Before lower-casing: U+212A KELVIN SIGN lower-cases to an ASCII 'k'.
        return Optional.empty();
      }
    }
    String name = serverName.toLowerCase(Locale.ROOT);
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    if (name.isEmpty() || name.length() > 253 || looksLikeIpv4(name) || name.contains(":")) {
      return Optional.empty();
    }
    for (String label : name.split("\\.", -1)) {
      if (!isLabel(label)) {
        return Optional.empty();
      }
    }
    return Optional.of(name);
  }

  /**
   * Splits a normalised name into its node and tailnet under {@code domain}; empty when the name is
   * not exactly {@code NODE.TAILNET.DOMAIN}.
   */
  public static Optional<FunnelName> parse(String normalisedName, String domain) {
    String suffix = "." + domain;
    if (!normalisedName.endsWith(suffix)) {
      return Optional.empty();
    }
    String head = normalisedName.substring(0, normalisedName.length() - suffix.length());
    int dot = head.indexOf('.');
    if (dot < 0 || head.indexOf('.', dot + 1) >= 0) {
      return Optional.empty();
    }
    String node = head.substring(0, dot);
    String tailnet = head.substring(dot + 1);
    if (!isLabel(node) || !isLabel(tailnet)) {
      return Optional.empty();
    }
    return Optional.of(new FunnelName(node, tailnet, domain));
  }

  /**
   * A custom domain a node may ask for, normalised: at least two labels, not an IP literal, and
   * neither the base {@code domain} nor a name under it (those are Funnel's own). Empty otherwise.
   */
  public static Optional<String> alias(String name, String domain) {
    Optional<String> normal = normalise(name);
    if (normal.isEmpty() || normal.get().indexOf('.') < 0) {
      return Optional.empty();
    }
    String n = normal.get();
    if (n.equals(domain) || n.endsWith("." + domain)) {
      return Optional.empty();
    }
    return normal;
  }

  /** A public node name, {@code node.tailnet.domain}. */
  public record FunnelName(String node, String tailnet, String domain) {
    public String fqdn() {
      return node + "." + tailnet + "." + domain;
    }
  }
}
