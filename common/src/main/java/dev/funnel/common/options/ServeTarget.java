package dev.funnel.common.options;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a node sends a funnelled public port:
 * <ul>
 *   <li>{@code tcp://HOST:PORT}: the raw stream (still TLS) to a local server that terminates TLS itself;</li>
 *   <li>{@code http://HOST:PORT[/path]}, {@code https+insecure://HOST:PORT[/path]}: the node's
 *       tls-terminator terminates TLS and reverse-proxies HTTP there;</li>
 *   <li>{@code tls-terminated-tcp://HOST:PORT}: terminate TLS, forward the plaintext stream;</li>
 *   <li>built-in HTTP handlers of the terminator: {@code file:///DIR[?listing]} (a directory, served
 *       read-only; {@code ?listing} lists directories), {@code text:STRING} ({@code 200}, the string as
 *       {@code text/plain}), {@code redirect:URL} ({@code 302} to the URL, the rest of the path and the
 *       query appended).</li>
 * </ul>
 *
 * <p>Components by kind: {@code host}/{@code port} are the backend's (empty and 0 for the built-in
 * handlers); {@code path} is the backend path prefix ({@code http}, {@code https+insecure}; "/" when
 * none was given) or the directory ({@code file}); {@code value} is the text ({@code text}), the URL
 * ({@code redirect}) or {@code "listing"} / {@code ""} ({@code file}); empty otherwise.
 */
public record ServeTarget(Kind kind, String host, int port, String path, String value) {

  public enum Kind {
    TCP("tcp"), HTTP("http"), HTTPS_INSECURE("https+insecure"), TLS_TERMINATED_TCP("tls-terminated-tcp"),
    FILE("file"), TEXT("text"), REDIRECT("redirect");

    public final String scheme;

    Kind(String scheme) {
      this.scheme = scheme;
    }

    /** True when the node's terminator, not the local server, terminates TLS. */
    public boolean terminatesTls() {
      return this != TCP;
    }

    /** One stream per connection ({@code tcp://}, {@code tls-terminated-tcp://}): no HTTP, so no paths and no gates. */
    public boolean isStream() {
      return this == TCP || this == TLS_TERMINATED_TCP;
    }

    /** Reverse-proxied to a local HTTP(S) server. */
    public boolean isProxy() {
      return this == HTTP || this == HTTPS_INSECURE;
    }
  }

  /** The value of {@code file:} targets that asks for directory listings. */
  public static final String LISTING = "listing";

  /** The targets {@link #parse} accepts, as a user writes them. */
  public static final String ACCEPTED =
      "tcp://HOST:PORT, http://HOST:PORT[/path], https+insecure://HOST:PORT[/path], tls-terminated-tcp://HOST:PORT, "
          + "file:///DIR[?listing], text:STRING, redirect:URL";

  /** A network target (no {@code value}). */
  public ServeTarget(Kind kind, String host, int port, String path) {
    this(kind, host, port, path, "");
  }

  /** Parses a target; throws IllegalArgumentException with a reason a user can act on. */
  public static ServeTarget parse(String text) {
    String lower = text.toLowerCase(Locale.ROOT);
    if (lower.startsWith("text:")) {
      return new ServeTarget(Kind.TEXT, "", 0, "", text.substring("text:".length()));
    }
    if (lower.startsWith("redirect:")) {
      return redirect(text, text.substring("redirect:".length()));
    }
    if (lower.startsWith("file:")) {
      return file(text);
    }
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

  private static ServeTarget redirect(String text, String url) {
    if (url.startsWith("/") && !url.startsWith("//")) {
      return new ServeTarget(Kind.REDIRECT, "", 0, "", url);
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("bad target '" + text + "': " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
      throw new IllegalArgumentException("bad target '" + text
          + "': redirect: takes an absolute http(s) URL or a path, e.g. redirect:https://example.com/new");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException("bad target '" + text
          + "': a redirect URL takes no query or fragment (the request's own query is appended)");
    }
    return new ServeTarget(Kind.REDIRECT, "", 0, "", url);
  }

  private static ServeTarget file(String text) {
    if (!text.regionMatches(true, 0, "file:///", 0, "file:///".length())) {
      throw new IllegalArgumentException("bad target '" + text
          + "': file targets take an absolute directory, e.g. file:///srv/site");
    }
    String rest = text.substring("file://".length());
    String listing = "";
    int query = rest.indexOf('?');
    if (query >= 0) {
      String q = rest.substring(query + 1);
      if (!q.equals(LISTING)) {
        throw new IllegalArgumentException("bad target '" + text + "': the only option of file: is ?listing");
      }
      listing = LISTING;
      rest = rest.substring(0, query);
    }
    if (rest.indexOf('\0') >= 0 || rest.indexOf('%') >= 0) {
      throw new IllegalArgumentException("bad target '" + text + "': write the directory as it is, unencoded");
    }
    String dir = Path.of(rest).normalize().toString();
    if (dir.equals("/")) {
      throw new IllegalArgumentException("bad target '" + text + "': file:/// would serve the whole file system; "
          + "name a directory, e.g. file:///srv/site");
    }
    return new ServeTarget(Kind.FILE, "", 0, dir, listing);
  }

  @Override
  public String toString() {
    switch (kind) {
      case TEXT:
        return "text:" + value;
      case REDIRECT:
        return "redirect:" + value;
      case FILE:
        return "file://" + path + (value.isEmpty() ? "" : "?" + value);
      default:
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return kind.scheme + "://" + h + ":" + port + (path.equals("/") ? "" : path);
    }
  }
}
