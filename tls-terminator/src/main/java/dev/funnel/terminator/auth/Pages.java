package dev.funnel.terminator.auth;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/** The login gate's short answers: a status, a line of text, at most one link; values HTML-escaped. */
final class Pages {

  private Pages() {
  }

  static void html(HttpServerResponse response, int status, String title, String escapedBody) {
    response.setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Content-Security-Policy", "default-src 'none'")
        .end("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + escape(title) + "</title></head>\n"
            + "<body><h1>" + escape(title) + "</h1>\n<p>" + escapedBody + "</p></body></html>\n");
  }

  static void redirect(HttpServerResponse response, String location) {
    response.setStatusCode(302)
        .putHeader(HttpHeaders.LOCATION, location)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end();
  }

  static String escape(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }
}
