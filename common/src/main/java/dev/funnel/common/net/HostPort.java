package dev.funnel.common.net;

/** A host and port, parsed from {@code HOST:PORT} or {@code [v6]:PORT}. */
public record HostPort(String host, int port) {

  public HostPort {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("empty host");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
  }

  /** Parses {@code HOST:PORT}; throws IllegalArgumentException with a reason a user can act on. */
  public static HostPort parse(String s) {
    if (s == null) {
      throw new IllegalArgumentException("expected HOST:PORT, got nothing");
    }
    int colon = s.lastIndexOf(':');
    if (colon <= 0 || colon == s.length() - 1) {
      throw new IllegalArgumentException("expected HOST:PORT, got '" + s + "'");
    }
    String host = s.substring(0, colon);
    boolean bracketed = host.startsWith("[") && host.endsWith("]");
    if (bracketed) {
      host = host.substring(1, host.length() - 1);
    }
    String bad = badHost(host, bracketed);
    if (bad != null) {
      throw new IllegalArgumentException("expected HOST:PORT; " + bad + ": '" + s + "'");
    }
    String digits = s.substring(colon + 1);
    // Digits only: Integer.parseInt would also take "+80" or a non-ASCII digit, and read them as 80.
    if (digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException("expected HOST:PORT; the port is not a number from 0 to 65535: '" + s + "'");
    }
    int port = Integer.parseInt(digits);
    return new HostPort(host, port);
  }

  /**
   * Why {@code host} is not a host name or address, or null. Only the characters of DNS names, IPv4
   * and IPv6 addresses (with a {@code %zone}) are taken: a space or control character would not
   * survive being written back, and an IPv6 address must be in brackets, as in {@code [::1]:443}.
   */
  private static String badHost(String host, boolean bracketed) {
    if (host.isEmpty()) {
      return "empty host";
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
          || c == '.' || c == '-' || c == '_' || c == '%' || c == ':' && bracketed;
      if (!ok) {
        return c == ':' ? "an IPv6 address needs [brackets]" : shown(c) + " cannot be in a host name";
      }
    }
    return null;
  }

  /** {@code c} named so it shows on one line: {@code '='}, {@code a space}, or a control character's code. */
  private static String shown(char c) {
    if (c == ' ') {
      return "a space";
    }
    return c < 0x20 || c >= 0x7f ? String.format("character U+%04X", (int) c) : "'" + c + "'";
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
