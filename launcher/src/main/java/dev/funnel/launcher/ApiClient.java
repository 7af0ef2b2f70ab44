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
 * The blocking client of Funnel's small bearer-token JSON APIs: the registry's admin REST API (see
 * its {@code openapi.yaml}) for {@code funnel admin}, and a running node's local control for
 * {@code funnel node serve}. One request at a time, each bounded. Every failure — the API's
 * {@code {"error":{"code","message"}}}, a refused connection, a timeout — becomes an
 * {@link ApiFailure} whose message is fit to show a user. The token is sent in the
 * {@code Authorization} header and never appears in a message.
 */
final class ApiClient {

  /** Bound on connecting and on each whole request. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private final String base;
  private final String token;
  private final Duration timeout;
  private final String service;
  private final String whenRefused;
  private final HttpClient http;

  /** A client of the admin API at {@code url}. */
  ApiClient(URI url, String token, Duration timeout) {
    this(url, token, timeout, "the admin API", "is `funnel server` running?");
  }

  /**
   * A client of {@code service} (named in messages, e.g. "the node's control"); {@code whenRefused}
   * is the hint shown when nothing answers at {@code url}.
   */
  ApiClient(URI url, String token, Duration timeout, String service, String whenRefused) {
    String u = url.toString();
    this.base = u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
    this.token = token;
    this.timeout = timeout;
    this.service = service;
    this.whenRefused = whenRefused;
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

  JsonObject put(String path, JsonObject body) {
    return send("PUT", path, body);
  }

  JsonObject delete(String path) {
    return send("DELETE", path, null);
  }

  /** The response body as JSON (empty for 204); an {@link ApiFailure} for anything but 2xx. */
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
      throw new ApiFailure("cannot reach " + service + " at " + base + " within " + timeout.toSeconds()
          + " s: " + whenRefused);
    } catch (HttpTimeoutException e) {
      throw new ApiFailure(service + " at " + base + " did not answer within " + timeout.toSeconds() + " s");
    } catch (IOException e) {
      throw new ApiFailure(refused(e) ? "cannot reach " + service + " at " + base + ": " + whenRefused
          : "cannot reach " + service + " at " + base + ": " + (e.getMessage() == null ? e : e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiFailure("interrupted while calling " + service);
    }
    int status = response.statusCode();
    JsonObject json = parse(response.body());
    if (status >= 200 && status < 300) {
      if (json == null) {
        throw new ApiFailure(service + " at " + base + " answered HTTP " + status + " without a JSON object");
      }
      return json;
    }
    JsonObject error = json == null ? null : json.getJsonObject("error");
    if (error == null || error.getString("message") == null) {
      throw new ApiFailure(service + " at " + base + " answered HTTP " + status);
    }
    throw new ApiFailure(error.getString("message") + " (" + error.getString("code", "HTTP " + status) + ")");
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
  static final class ApiFailure extends RuntimeException {
    ApiFailure(String message) {
      super(message, null, false, false);
    }
  }
}
