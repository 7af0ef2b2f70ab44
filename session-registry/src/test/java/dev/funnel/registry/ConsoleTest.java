package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.MemberStats;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.RegistryOptions;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console over HTTP against a real {@link AdminApiVerticle}: no session → the sign-in page;
 * a wrong token refused and counted by the REST API's limiter; the session cookie's flags and that
 * it is not the token; a change without the CSRF token is 403 and changes nothing; a change with it
 * goes through the service and shows in the REST API; a refused name is shown escaped; the key is
 * shown once; sign-out ends the session; the CSP header and no inline script or style; the
 * overview's figures are the cluster's, as {@code GET /v1/status} has them.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ConsoleTest {

  static final int BURST = 3;
  static final int MAX_SESSIONS = 3;
  static final Pattern CSRF = Pattern.compile("name=\"X-XSRF-TOKEN\" value=\"([^\"]+)\"");

  @TempDir
  Path state;

  RegistryOptions options;
  RegistryService service;
  AdminApiVerticle api;
  HttpClient client;
  String token;

  record Response(int status, MultiMap headers, String body) {
    String csrf() {
      Matcher m = CSRF.matcher(body);
      assertThat(m.find()).as("a CSRF field in:\n" + body).isTrue();
      return m.group(1);
    }
  }

  /** A browser's cookie jar, reduced to what the console sets (name → value, path /ui). */
  final class Browser {
    final Map<String, String> cookies = new LinkedHashMap<>();
    final List<String> setCookies = new java.util.ArrayList<>();

    Response get(String path) {
      return send(HttpMethod.GET, path, null, Map.of());
    }

    Response post(String path, Map<String, String> form) {
      return send(HttpMethod.POST, path, form, Map.of());
    }

    Response send(HttpMethod method, String path, Map<String, String> form, Map<String, String> headers) {
      RequestOptions request = new RequestOptions().setMethod(method).setURI(path);
      if (!cookies.isEmpty()) {
        request.putHeader("Cookie", cookies.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .collect(Collectors.joining("; ")));
      }
      headers.forEach(request::putHeader);
      Buffer body = Buffer.buffer();
      if (form != null) {
        request.putHeader("Content-Type", "application/x-www-form-urlencoded");
        body.appendString(form.entrySet().stream().map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
            .collect(Collectors.joining("&")));
      }
      Response r = await(client.request(request).compose(req -> req.send(body)
          .compose(resp -> resp.body().map(b -> new Response(resp.statusCode(), resp.headers(), b.toString())))));
      for (String c : r.headers().getAll("Set-Cookie")) {
        setCookies.add(c);
        String pair = c.split(";", 2)[0];
        int eq = pair.indexOf('=');
        cookies.put(pair.substring(0, eq), pair.substring(eq + 1));
      }
      return r;
    }

    /** Signs in through the form; the response of the POST. */
    Response signIn(String withToken) {
      String csrf = get("/ui/sign-in").csrf();
      return post("/ui/sign-in", Map.of("X-XSRF-TOKEN", csrf, "token", withToken));
    }
  }

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    TestSupport.registerCodecs(vertx);
    options = new RegistryOptions().setStateDir(state).setDomain("funnel.test")
        .setAdminListen(new HostPort("127.0.0.1", 0))
        .setAdminAuthFailureBurst(BURST).setAdminAuthFailureRefillMillis(60_000);
    service = await(RegistryService.open(vertx, options));
    api = new AdminApiVerticle(options, service).consoleMaxSessions(MAX_SESSIONS);
    await(vertx.deployVerticle(api));
    client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(api.actualPort()));
    token = Files.readString(state.resolve("admin-token"));
  }

  @AfterEach
  void tearDown() {
    await(client.close());
    await(service.close());
  }

  @Test
  void withoutASessionEveryPageRedirectsToSignIn() {
    Browser b = new Browser();
    for (String page : List.of("/ui/", "/ui/tailnets", "/ui/keys", "/ui/nodes", "/ui/figures")) {
      Response r = b.get(page);
      assertThat(r.status()).as(page).isEqualTo(303);
      assertThat(r.headers().get("Location")).as(page).isEqualTo("/ui/sign-in");
    }
    Response fragment = b.send(HttpMethod.GET, "/ui/figures", null, Map.of("HX-Request", "true"));
    assertThat(fragment.status()).isEqualTo(401);
    assertThat(fragment.headers().get("HX-Redirect")).isEqualTo("/ui/sign-in");
    assertThat(b.get("/ui/sign-in").status()).isEqualTo(200);
    assertThat(b.get("/").headers().get("Location")).isEqualTo("/ui/");
  }

  @Test
  void aWrongTokenIsRefusedAndCountedByTheAdminApisLimiter() {
    Browser b = new Browser();
    Response wrong = b.signIn("fnl-admin-wrong");
    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.body()).contains("That is not the admin token");
    assertThat(count("wrong_token")).isEqualTo(1);
    assertThat(b.get("/ui/").status()).as("still not signed in").isEqualTo(303);
    Response empty = b.post("/ui/sign-in", Map.of("X-XSRF-TOKEN", wrong.csrf(), "token", ""));
    assertThat(empty.status()).isEqualTo(401);
    assertThat(count("no_token")).isEqualTo(1);
    b.signIn("fnl-admin-wrong-again");
    Response limited = b.signIn(token);
    assertThat(limited.status()).as("out of attempts: even the right token is refused").isEqualTo(429);
    assertThat(limited.headers().get("Retry-After")).isNotNull();
    assertThat(count("rate_limited")).isEqualTo(1);
    // The same limiter guards the REST API.
    Browser rest = new Browser();
    assertThat(rest.send(HttpMethod.GET, "/v1/tailnets", null, Map.of("Authorization", "Bearer " + token)).status())
        .isEqualTo(429);
  }

  @Test
  void signInSetsASecureHttpOnlyStrictSessionCookieThatIsNotTheToken() {
    Browser b = new Browser();
    Response in = b.signIn(token);
    assertThat(in.status()).isEqualTo(303);
    assertThat(in.headers().get("Location")).isEqualTo("/ui/");
    String session = in.headers().getAll("Set-Cookie").stream().filter(c -> c.startsWith("funnel-console="))
        .findFirst().orElseThrow();
    assertThat(session.toLowerCase()).contains("; secure").contains("; httponly").contains("; samesite=strict")
        .contains("; path=/ui");
    String value = b.cookies.get("funnel-console");
    assertThat(value).isNotBlank().doesNotContain(token).isNotEqualTo(token);
    assertThat(b.setCookies).noneMatch(c -> c.contains(token));
    String csrfCookie = b.setCookies.stream().filter(c -> c.startsWith("funnel-console-csrf=")).findFirst().orElseThrow();
    assertThat(csrfCookie.toLowerCase()).contains("; secure").contains("; httponly").contains("samesite=strict");

    Response overview = b.get("/ui/");
    assertThat(overview.status()).isEqualTo(200);
    assertThat(overview.body()).contains("Nodes online").contains("Tunnels open");
    assertStrictPage(overview);

    Response out = b.post("/ui/sign-out", Map.of("X-XSRF-TOKEN", overview.csrf()));
    assertThat(out.status()).isEqualTo(303);
    assertThat(out.headers().get("Location")).isEqualTo("/ui/sign-in");
    assertThat(b.get("/ui/").status()).as("signed out").isEqualTo(303);
  }

  @Test
  void aChangeWithoutTheCsrfTokenIsRefusedAndChangesNothing() {
    Browser b = new Browser();
    b.signIn(token);
    String csrf = b.get("/ui/tailnets").csrf();

    Response none = b.post("/ui/tailnets", Map.of("name", "acme", "ports", "443"));
    assertThat(none.status()).isEqualTo(403);
    assertThat(none.body()).contains("CSRF check failed");
    Response forged = b.post("/ui/tailnets", Map.of("X-XSRF-TOKEN", csrf + "x", "name", "acme", "ports", "443"));
    assertThat(forged.status()).isEqualTo(403);
    assertThat(service.tailnets()).isEmpty();

    String fresh = b.get("/ui/tailnets").csrf();
    Response added = b.post("/ui/tailnets", Map.of("X-XSRF-TOKEN", fresh, "name", "acme", "funnel", "on",
        "ports", "443"));
    assertThat(added.status()).isEqualTo(303);
    Response page = b.get("/ui/tailnets");
    assertThat(page.body()).contains("Tailnet acme added").contains("data-tailnet=\"acme\"");
    // The same service call as the REST API: visible there.
    JsonObject viaRest = new JsonObject(new Browser().send(HttpMethod.GET, "/v1/tailnets/acme", null,
        Map.of("Authorization", "Bearer " + token)).body());
    assertThat(viaRest.getBoolean("funnel")).isTrue();

    Response off = b.post("/ui/tailnets/acme/funnel", Map.of("X-XSRF-TOKEN", page.csrf(), "funnel", "off"));
    assertThat(off.status()).isEqualTo(303);
    assertThat(service.tailnets().get(0).funnel()).isFalse();
  }

  @Test
  void aRefusedNameIsShownEscaped() {
    Browser b = new Browser();
    b.signIn(token);
    String csrf = b.get("/ui/tailnets").csrf();
    b.post("/ui/tailnets", Map.of("X-XSRF-TOKEN", csrf, "name", "<script>alert(1)</script>", "ports", "443"));
    Response page = b.get("/ui/tailnets");
    assertThat(page.body()).contains("&lt;script&gt;alert(1)&lt;/script&gt;").doesNotContain("<script>alert");
    assertThat(service.tailnets()).isEmpty();
  }

  @Test
  void aNewKeyIsShownOnceAndRevokedThroughTheSameService() {
    await(service.createTailnet("acme", true, java.util.Set.of(443)));
    Browser b = new Browser();
    b.signIn(token);
    String csrf = b.get("/ui/keys").csrf();
    Response created = b.post("/ui/keys", Map.of("X-XSRF-TOKEN", csrf, "tailnet", "acme", "reusable", "on",
        "expiry", "24h"));
    assertThat(created.status()).isEqualTo(201);
    Matcher key = Pattern.compile("<code id=\"new-key\">(fnl-auth-[^<]+)</code>").matcher(created.body());
    assertThat(key.find()).isTrue();
    assertThat(created.headers().get("Cache-Control")).isEqualTo("no-store");
    Response later = b.get("/ui/keys");
    assertThat(later.body()).doesNotContain(key.group(1)).contains("usable");

    String id = await(service.keys()).get(0).id();
    Response revoked = b.post("/ui/keys/" + id + "/revoke", Map.of("X-XSRF-TOKEN", later.csrf()));
    assertThat(revoked.status()).isEqualTo(303);
    assertThat(await(service.keys()).get(0).revoked()).isTrue();
    assertThat(b.get("/ui/keys").body()).contains("Key " + id + " revoked").contains(">revoked<");
  }

  @Test
  void staticFilesAreServedUnderTheSamePolicy() {
    Browser b = new Browser();
    Response css = b.get("/ui/static/console.css");
    assertThat(css.status()).isEqualTo(200);
    assertThat(css.headers().get("Content-Type")).startsWith("text/css");
    Response htmx = b.get("/ui/static/htmx/htmx.min.js");
    assertThat(htmx.status()).isEqualTo(200);
    assertThat(htmx.body()).contains("htmx");
    assertThat(htmx.headers().get("Content-Security-Policy")).isEqualTo(ConsoleRoutes.CSP);
  }

  @Test
  void sessionsAreBoundedButAHeldSessionIsAlwaysServed() {
    Browser admin = new Browser();
    admin.signIn(token);
    for (int i = 1; i < MAX_SESSIONS; i++) {
      assertThat(new Browser().get("/ui/sign-in").status()).isEqualTo(200);
    }
    Response full = new Browser().get("/ui/sign-in");
    assertThat(full.status()).isEqualTo(503);
    assertThat(full.headers().get("Retry-After")).isEqualTo("60");
    Browser forged = new Browser();
    forged.cookies.put("funnel-console", "not-a-session-the-store-holds");
    assertThat(forged.get("/ui/sign-in").status()).isEqualTo(503);
    assertThat(admin.get("/ui/").status()).as("a held session").isEqualTo(200);
  }

  @Test
  void theFiguresAreTheClustersAsTheStatusHasThem(Vertx vertx) throws Exception {
    // funnel registry --cluster: the frontend and the gateway are other processes, heard only by the
    // figures they publish (this process has no frontend meters).
    await(vertx.deployVerticle(new RegistryVerticle(options, service)));
    vertx.eventBus().publish(Addresses.MEMBER_STATS,
        new MemberStats("fe-1", "frontend", true, List.of(443), 0, 0, Map.of("no_route", 1L), 0));
    vertx.eventBus().publish(Addresses.MEMBER_STATS, new MemberStats("gw-1", "gateway", true, List.of(), 0, 0, Map.of(), 1));
    Thread.sleep(1_100);
    vertx.eventBus().publish(Addresses.MEMBER_STATS,
        new MemberStats("fe-1", "frontend", true, List.of(443), 1, 2, Map.of("no_route", 3L), 0));
    vertx.eventBus().publish(Addresses.MEMBER_STATS, new MemberStats("gw-1", "gateway", true, List.of(), 1, 2, Map.of(), 1));
    JsonObject status = status();
    for (long deadline = System.nanoTime() + 10_000_000_000L; status.getLong("tunnelsOpen") != 1
        && System.nanoTime() < deadline; status = status()) {
      Thread.sleep(50);
    }
    assertThat(status.getLong("tunnelsOpen")).isEqualTo(1);
    assertThat(status.getDouble("newTunnelsPerSecond")).isPositive();

    Browser b = new Browser();
    b.signIn(token);
    String figures = b.get("/ui/figures").body();
    assertThat(figure(figures, "tunnels-open")).isEqualTo("1");
    assertThat(figure(figures, "tunnels-rate")).isEqualTo(status.getValue("newTunnelsPerSecond").toString());
    assertThat(status.getJsonObject("refusalsLastMinute").fieldNames()).containsExactly("no_route");
    assertThat(status.getJsonObject("refusalsLastMinute").getLong("no_route")).isEqualTo(2);
    assertThat(figures).contains("<tr data-reason=\"no_route\"><td>no route</td><td class=\"num\">2</td></tr>");
    assertThat(b.get("/ui/").body()).contains(figures);
  }

  JsonObject status() {
    Response r = new Browser().send(HttpMethod.GET, "/v1/status", null, Map.of("Authorization", "Bearer " + token));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  /** The value of one of the overview's figures ({@code <div … id="ID"><div class="value">…}). */
  static String figure(String html, String id) {
    Matcher m = Pattern.compile("id=\"" + id + "\"><div class=\"value\">([^<]*)<").matcher(html);
    assertThat(m.find()).as(id + " in:\n" + html).isTrue();
    return m.group(1);
  }

  static void assertStrictPage(Response page) {
    assertThat(page.headers().get("Content-Security-Policy")).isEqualTo(ConsoleRoutes.CSP);
    assertThat(page.headers().get("Content-Type")).isEqualTo("text/html; charset=utf-8");
    String html = page.body();
    assertThat(html).doesNotContainPattern("<script(?![^>]*\\bsrc=)").doesNotContain("<style")
        .doesNotContainPattern("\\sstyle=").doesNotContainPattern("\\son[a-z]+=");
  }

  double count(String reason) {
    Counter counter = api.meterRegistry().find("funnel.admin.auth.refusals").tag("reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
