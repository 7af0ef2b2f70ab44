package dev.funnel.terminator;

import dev.funnel.terminator.auth.UserHeaders;
import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The request headers the terminator rewrites on the way to the backend. Pure functions over a
 * {@link MultiMap}: no Vert.x server, no socket, no logging.
 *
 * <p>The backend must be able to trust what it is told about the client, so every incoming header
 * that claims something about the client or the hop is removed first, then set from what the
 * terminator itself knows (the PROXY header's source address, and the request's authority).
 */
final class ForwardedHeaders {

  static final String X_FORWARDED_FOR = "X-Forwarded-For";
  static final String X_FORWARDED_PROTO = "X-Forwarded-Proto";
  static final String X_FORWARDED_HOST = "X-Forwarded-Host";
  static final String FORWARDED = "Forwarded";
  static final String FUNNEL_REQUEST = "Funnel-Request";

  /**
   * Incoming headers removed before forwarding: the ones the terminator sets, plus the other common
   * spellings of "the client's address" that a backend might believe (X-Real-IP, X-Forwarded-Port…).
   */
  static final List<String> SPOOFABLE = List.of(X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, FORWARDED,
      FUNNEL_REQUEST, "X-Real-IP", "X-Forwarded-Port", "X-Forwarded-Server", "X-Client-IP", "True-Client-IP");

  /**
   * Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction on a plain request.
   * Upgrade handling keeps Connection/Upgrade itself.
   */
  static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding",
      "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization");

  /**
   * The login gate's headers ({@code Funnel-User-Email}, {@code Funnel-User-Name}): removed from every request
   * as it enters a port ({@link #stripIdentity}), before any gate runs, so the only copies the backend can see
   * are the ones a gate set. Not in {@link #SPOOFABLE}: that list is applied later, after the gates.
   */
  static final List<String> IDENTITY = UserHeaders.ALL;

  private ForwardedHeaders() {
  }

  /** Removes incoming copies of the login gate's user headers; call first thing for every request. */
  static void stripIdentity(MultiMap headers) {
    UserHeaders.removeFrom(headers);
  }

  /**
   * Rewrites request headers for the backend, in place.
   *
   * @param headers   the request's headers (a copy the proxy owns)
   * @param fromHttp2 the client spoke HTTP/2: drop pseudo-headers and join split {@code cookie} fields
   * @param clientIp  the public client's IP (from the PROXY header)
   * @param host      the request's Host / {@code :authority}, exactly as the client sent it
   */
  static void rewriteRequest(MultiMap headers, boolean fromHttp2, String clientIp, String host) {
    stripNominated(headers);
    for (String name : SPOOFABLE) {
      headers.remove(name);
    }
    // The terminator answers "Expect: 100-continue" itself; the backend gets the body straight away.
    headers.remove("Expect");
    if (fromHttp2) {
      List<String> pseudo = new ArrayList<>();
      for (String name : headers.names()) {
        if (name.startsWith(":")) {
          pseudo.add(name);
        }
      }
      pseudo.forEach(headers::remove);
      // RFC 9113 §8.2.3: an HTTP/2 client may split cookies over several fields; HTTP/1.1 wants one.
      List<String> cookies = headers.getAll("cookie");
      if (cookies.size() > 1) {
        headers.set("cookie", String.join("; ", cookies));
      }
    }
    addForwarded(headers, clientIp, host);
  }

  /** Sets the headers that tell the backend who the client is and how it came in. */
  static void addForwarded(MultiMap headers, String clientIp, String host) {
    headers.set(X_FORWARDED_FOR, clientIp);
    headers.set(X_FORWARDED_PROTO, "https");
    if (host != null) {
      headers.set(X_FORWARDED_HOST, host);
    }
    headers.set(FORWARDED, forwardedElement(clientIp, host));
    headers.set(FUNNEL_REQUEST, "?1");
  }

  /** Removes the headers an upgrade request must not carry to the backend, keeping Connection/Upgrade. */
  static void stripForUpgrade(MultiMap headers) {
    for (String name : SPOOFABLE) {
      headers.remove(name);
    }
    for (String name : List.of("keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "proxy-authenticate", "proxy-authorization", "expect")) {
      headers.remove(name);
    }
  }

  /** Removes hop-by-hop headers from a backend response (an HTTP/2 client must never see them). */
  static void rewriteResponse(MultiMap headers) {
    stripNominated(headers);
  }

  /** Drops the hop-by-hop headers and every header the Connection header nominates. */
  private static void stripNominated(MultiMap headers) {
    for (String value : headers.getAll("connection")) {
      for (String token : value.split(",")) {
        String name = token.trim();
        if (!name.isEmpty()) {
          headers.remove(name);
        }
      }
    }
    for (String name : HOP_BY_HOP) {
      headers.remove(name);
    }
  }

  /** One RFC 7239 element: {@code for=203.0.113.7;proto=https;host=web.example}. */
  static String forwardedElement(String clientIp, String host) {
    String node = clientIp.indexOf(':') >= 0 ? "\"[" + clientIp + "]\"" : clientIp;
    StringBuilder sb = new StringBuilder("for=").append(node).append(";proto=https");
    if (host != null && !host.isEmpty()) {
      sb.append(";host=").append(tokenOrQuoted(host));
    }
    return sb.toString();
  }

  /** A value as an RFC 7230 token when it is one, else a quoted-string. */
  static String tokenOrQuoted(String value) {
    boolean token = !value.isEmpty();
    for (int i = 0; i < value.length() && token; i++) {
      char c = value.charAt(i);
      token = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }
    if (token) {
      return value;
    }
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** The host part of an authority, lower case and without a trailing dot: what is compared with server names. */
  static String authorityHost(String host) {
    return TerminatorOptions.normaliseName(host.toLowerCase(Locale.ROOT));
  }

  /**
   * The backend request target: {@code prefix} (the target URL's path, "/" meaning none) joined to the
   * request's path and query, which are kept byte for byte.
   */
  static String joinPath(String prefix, String pathAndQuery) {
    if (prefix == null || prefix.isEmpty() || prefix.equals("/")) {
      return pathAndQuery;
    }
    String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
    if (pathAndQuery.equals("*")) {
      return p;
    }
    if (pathAndQuery.startsWith("/")) {
      return p + pathAndQuery;
    }
    return p + "/" + pathAndQuery;
  }
}
