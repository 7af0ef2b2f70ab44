package dev.funnel.common.options;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where a node sends a funnelled public port:
 * <ul>
 *   <li>{@code tcp://HOST:PORT}: the raw stream (still TLS) to a local server that terminates TLS itself;</li>
 *   <li>{@code http://HOST:PORT[/path]}, {@code https+insecure://HOST:PORT[/path]}: the node's
 *       tls-terminator terminates TLS and reverse-proxies HTTP there;</li>
 *   <li>{@code tls-terminated-tcp://HOST:PORT}: terminate TLS, forward the plaintext stream.</li>
 * </ul>
 */
public record ServeTarget(Kind kind, String host, int port, String path) {

  public enum Kind {
    TCP("tcp"), HTTP("http"), HTTPS_INSECURE("https+insecure"), TLS_TERMINATED_TCP("tls-terminated-tcp");

    public final String scheme;

    Kind(String scheme) {
      this.scheme = scheme;
    }

    /** True when the node's terminator, not the local server, terminates TLS. */
    public boolean terminatesTls() {
      return this != TCP;
    }
  }

  /** The targets {@link #parse} accepts, as a user writes them. */
  public static final String ACCEPTED =
      "tcp://HOST:PORT, http://HOST:PORT[/path], https+insecure://HOST:PORT[/path], tls-terminated-tcp://HOST:PORT";

  /** Parses a target URL; throws IllegalArgumentException with a reason a user can act on. */
  public static ServeTarget parse(String text) {
    if (!text.contains("://")) {
      throw new IllegalArgumentException("bad target '" + text + "': no scheme; use one of " + ACCEPTED
          + (text.matches("[^/]+:\\d+.*") ? " (e.g. http://" + text + ")" : ""));
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("bad target '" + text + "': " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    Kind kind = null;
    for (Kind k : Kind.values()) {
      if (k.scheme.equals(scheme)) {
        kind = k;
      }
    }
    if (kind == null) {
      throw new IllegalArgumentException("bad target '" + text
          + "': scheme must be one of " + ACCEPTED);
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("bad target '" + text + "': no host");
    }
    int port = uri.getPort();
    if (port < 0) {
      if (kind == Kind.HTTP) {
        port = 80;
      } else if (kind == Kind.HTTPS_INSECURE) {
        port = 443;
      } else {
        throw new IllegalArgumentException("bad target '" + text + "': no port");
      }
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("bad target '" + text + "': port " + port + " is outside 1..65535");
    }
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (!kind.terminatesTls() || kind == Kind.TLS_TERMINATED_TCP) {
      path = "";
    }
    String host = uri.getHost();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return new ServeTarget(kind, host, port, path);
  }

  @Override
  public String toString() {
    String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
    return kind.scheme + "://" + h + ":" + port + (path.equals("/") ? "" : path);
  }
}
