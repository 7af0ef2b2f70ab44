package dev.funnel.common.serve;

/**
 * Route path prefixes: how a user's {@code PORT:/PATH} is written down, which request paths a
 * prefix takes, and what is left of a path once the prefix is taken off. Pure.
 *
 * <p>A prefix matches whole segments: {@code /api} takes {@code /api}, {@code /api/} and
 * {@code /api/x}, not {@code /apix}; {@code /} takes everything. Longest prefix wins.
 *
 * <p>Prefix replacement: the matched prefix is replaced by the target's own path (an {@code http://}
 * target's path, a {@code file://} directory, a {@code redirect:} URL). {@code 443:/api=http://h:8080}
 * sends {@code /api/users} to {@code /users}; {@code 443:/api=http://h:8080/api} keeps it as is.
 */
public final class RoutePaths {

  private RoutePaths() {
  }

  /**
   * A user's route path in canonical form: starts with {@code /}, no trailing {@code /} (but
   * {@code /} itself); no empty, {@code .} or {@code ..} segments, no query, fragment or percent
   * escapes. IllegalArgumentException says what is wrong.
   */
  public static String canonical(String path) {
    if (path == null || path.isEmpty()) {
      return "/";
    }
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("the path '" + path + "' must start with / (e.g. 443:/api=…)");
    }
    if (!path.matches("[A-Za-z0-9._~!$&'()+,;:@/-]+") || path.indexOf('*') >= 0) {
      throw new IllegalArgumentException("the path '" + path + "' may hold only letters, digits and -._~!$&'()+,;:@ "
          + "between slashes (no ?, #, %, *, = or spaces)");
    }
    String p = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    if (p.equals("/")) {
      return p;
    }
    for (String segment : p.substring(1).split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("the path '" + path + "' has an empty, . or .. segment");
      }
    }
    return p;
  }

  /** True when {@code prefix} (canonical) takes the request path {@code path}. */
  public static boolean matches(String prefix, String path) {
    if (prefix.equals("/")) {
      return true;
    }
    return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
  }

  /**
   * What {@code path} is below {@code prefix} (canonical, and {@link #matches matching}): the
   * whole path for {@code /}, else the part after the prefix: {@code ""} or starting with {@code /}.
   */
  public static String rest(String prefix, String path) {
    return prefix.equals("/") ? path : path.substring(prefix.length());
  }
}
