package dev.funnel.registry;

import java.util.Collection;
import java.util.function.Function;

/**
 * A piece of HTML that is safe to send: the console's pages are built only from these. Text gets in
 * through one function, {@link #escape}, used by {@link #text} and by every placeholder of
 * {@link #of}; markup gets in only as the literal template of {@link #of} (written in this
 * package's source, never built from data). So a tailnet or node name that holds {@code <script>}
 * is shown as text, in element content and in attribute values alike (both quote styles).
 */
record Html(String value) {

  static final Html EMPTY = new Html("");

  /**
   * {@code template} with each {@code {}} replaced by the next argument: an {@link Html} as it is,
   * anything else (numbers, names, null as "") through {@link #escape}. The template is markup the
   * caller wrote; never pass data as the template.
   */
  static Html of(String template, Object... args) {
    StringBuilder out = new StringBuilder(template.length() + 64);
    int from = 0;
    int arg = 0;
    for (int at = template.indexOf("{}"); at >= 0; at = template.indexOf("{}", from)) {
      if (arg >= args.length) {
        throw new IllegalArgumentException("more {} than arguments in: " + template);
      }
      out.append(template, from, at);
      Object a = args[arg++];
      out.append(a instanceof Html h ? h.value : escape(a == null ? "" : String.valueOf(a)));
      from = at + 2;
    }
    if (arg != args.length) {
      throw new IllegalArgumentException("fewer {} than arguments in: " + template);
    }
    out.append(template, from, template.length());
    return new Html(out.toString());
  }

  /** {@code s} as text (escaped). */
  static Html text(String s) {
    return new Html(escape(s == null ? "" : s));
  }

  /** Each item rendered by {@code render}, one after another. */
  static <T> Html each(Collection<T> items, Function<T, Html> render) {
    StringBuilder out = new StringBuilder();
    for (T item : items) {
      out.append(render.apply(item).value);
    }
    return new Html(out.toString());
  }

  /** {@code html} when {@code condition}, else nothing. */
  static Html when(boolean condition, Html html) {
    return condition ? html : EMPTY;
  }

  /**
   * The one escaping function: {@code & < > " '} become character references, which is enough
   * for element content and for quoted attribute values (every attribute here is quoted).
   */
  static String escape(String s) {
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String r = switch (c) {
        case '&' -> "&amp;";
        case '<' -> "&lt;";
        case '>' -> "&gt;";
        case '"' -> "&quot;";
        case '\'' -> "&#39;";
        default -> null;
      };
      if (r != null && out == null) {
        out = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (out != null) {
        if (r != null) {
          out.append(r);
        } else {
          out.append(c);
        }
      }
    }
    return out == null ? s : out.toString();
  }

  @Override
  public String toString() {
    return value;
  }
}
