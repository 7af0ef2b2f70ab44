package dev.funnel.launcher;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The few calls {@code funnel admin} makes to the registry's admin REST API (see the registry's
 * {@code openapi.yaml}): blocking, one request at a time, each bounded by {@link #DEFAULT_TIMEOUT}.
 * Every failure — the API's {@code {"error":{"code","message"}}}, a refused connection, a timeout —
 * becomes an {@link AdminFailure} whose message is fit to show a user. The token is sent in the
 * {@code Authorization} header and never appears in a message.
 */
final class AdminClient {

  /** Bound on connecting and on each whole request. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private final String base;
  private final String token;
  private final Duration timeout;
  private final HttpClient http;

  AdminClient(URI url, String token, Duration timeout) {
    String u = url.toString();
    this.base = u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    this.token = token;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** The admin URL as a user gave it, checked: {@code http(s)://HOST[:PORT][/path]}. */
  static URI parseUrl(String url) {
    URI uri;
    try {
      uri = new URI(url.trim());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("not a URL: '" + url + "'");
    }
    if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null
        || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException("the admin URL must look like http://HOST:PORT, got '" + url + "'");
    }
    return uri;
  }

  /** One path segment, percent-encoded. */
  static String segment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  JsonObject get(String path) {
    return send("GET", path, null);
  }

  JsonObject post(String path, JsonObject body) {
    return send("POST", path, body);
  }

  JsonObject patch(String path, JsonObject body) {
    return send("PATCH", path, body);
  }

  void delete(String path) {
    send("DELETE", path, null);
  }

  /** The response body as JSON (empty for 204); an {@link AdminFailure} for anything but 2xx. */
  private JsonObject send(String method, String path, JsonObject body) {
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + path))
        .timeout(timeout)
        .header("Authorization", "Bearer " + token)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .method(method, body == null ? BodyPublishers.noBody() : BodyPublishers.ofString(body.encode()))
        .build();
    HttpResponse<String> response;
    try {
      response = http.send(request, BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (HttpConnectTimeoutException e) {
      throw new AdminFailure("cannot reach the admin API at " + base + " within " + timeout.toSeconds()
          + " s: is `funnel server` running?");
    } catch (HttpTimeoutException e) {
      throw new AdminFailure("the admin API at " + base + " did not answer within " + timeout.toSeconds() + " s");
    } catch (IOException e) {
      throw new AdminFailure(refused(e) ? "cannot reach the admin API at " + base + ": is `funnel server` running?"
          : "cannot reach the admin API at " + base + ": " + (e.getMessage() == null ? e : e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AdminFailure("interrupted while calling the admin API");
    }
    int status = response.statusCode();
    JsonObject json = parse(response.body());
    if (status >= 200 && status < 300) {
      if (json == null) {
        throw new AdminFailure("the admin API at " + base + " answered HTTP " + status + " without a JSON object");
      }
      return json;
    }
    JsonObject error = json == null ? null : json.getJsonObject("error");
    if (error == null || error.getString("message") == null) {
      throw new AdminFailure("the admin API at " + base + " answered HTTP " + status);
    }
    throw new AdminFailure(error.getString("message") + " (" + error.getString("code", "HTTP " + status) + ")");
  }

  /** The body as a JSON object; an empty object for an empty body; null when it is not one. */
  private static JsonObject parse(String body) {
    if (body == null || body.isBlank()) {
      return new JsonObject();
    }
    try {
      return new JsonObject(body);
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
  }

  private static boolean refused(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ConnectException) {
        return true;
      }
    }
    return false;
  }

  /** A call that did not succeed; the message is shown to the user as is. */
  static final class AdminFailure extends RuntimeException {
    AdminFailure(String message) {
      super(message, null, false, false);
    }
  }
}
