package dev.funnel.terminator.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.httpproxy.HttpProxy;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Cookie;

/**
 * The login gate on a bare Vert.x Web Router behind an HTTPS server, with a REAL OpenID Connect provider
 * (mock-oauth2-server, in-process on 127.0.0.1, its interactive login form) and a REAL browser (Debian's
 * headless Chromium through Selenium). The gate's route proxies to a backend that records what it got.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoginGateBrowserTest {

  static final String NAME = "app.funnel.localhost";
  static final String CLIENT_ID = "funnel-node";
  static final String PATH = "x-test-path";

  @TempDir
  static Path state;

  Vertx vertx;
  MockOAuth2Server provider;
  String issuer;
  HttpServer backend;
  HttpServer site;
  HttpClient client;
  HttpClient proxyClient;
  OidcLogin login;
  SealedCookie sealer;
  String origin;
  final LinkedBlockingQueue<MultiMap> seen = new LinkedBlockingQueue<>();

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    provider = new MockOAuth2Server(OAuth2Config.Companion.fromJson("{\"interactiveLogin\":true}"));
    provider.start(InetAddress.getByName("127.0.0.1"), 0);
    issuer = "http://127.0.0.1:" + provider.baseUrl().port() + "/default";

    backend = vertx.createHttpServer().requestHandler(req -> {
      if (!req.path().equals("/favicon.ico")) {
        // Chromium asks for /favicon.ico after each page; only the test's own requests are recorded.
        seen.add(MultiMap.caseInsensitiveMultiMap().addAll(req.headers()).add(PATH, req.path()));
      }
      req.response().putHeader("content-type", "text/plain")
          .end("hello " + req.getHeader(UserHeaders.EMAIL) + " / " + req.getHeader(UserHeaders.NAME) + " at " + req.path());
    });
    await(backend.listen(0, "127.0.0.1"));

    byte[] key = LoginKey.loadOrCreate(state);
    sealer = new SealedCookie(key);
    Path secret = state.resolve("secret");
    java.nio.file.Files.writeString(secret, "s3cret\n");
    login = new OidcLogin(vertx, OidcOptions.of(issuer, CLIENT_ID, secret.toString()), sealer);
    await(login.start());
    AuthOptions auth = AuthOptions.parse("oidc")
        .withAllowEmails(List.of("alice@example.com"))
        .withAllowGroups(List.of("admins"))
        .withSkipPaths(List.of("/webhooks/"));
    LoginGate gate = new LoginGate(vertx, auth, login, NAME);
    await(gate.ready());

    proxyClient = vertx.createHttpClient();
    HttpProxy proxy = HttpProxy.reverseProxy(proxyClient).origin(backend.actualPort(), "127.0.0.1");
    Router router = Router.router(vertx);
    // What the terminator does as a request enters a port (ForwardedHeaders.stripIdentity), gate or not.
    router.route().handler(ctx -> {
      UserHeaders.removeFrom(ctx.request().headers());
      ctx.next();
    });
    login.mount(router);
    router.route().handler(gate);
    router.route().handler(ctx -> proxy.handle(ctx.request()));

    DevCa ca = DevCa.loadOrCreate(state);
    DevCa.KeyAndChain leaf = ca.issue(List.of(NAME), Duration.ofDays(1));
    site = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(leaf.keyPem())).setCertValue(Buffer.buffer(leaf.chainPem()))))
        .requestHandler(router);
    await(site.listen(0, "127.0.0.1"));
    origin = "https://" + NAME + ":" + site.actualPort();
    client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false));
  }

  @AfterAll
  void stop() {
    if (login != null) {
      login.close();
    }
    if (vertx != null) {
      await(vertx.close());
    }
    if (provider != null) {
      provider.shutdown();
    }
  }

  @BeforeEach
  void clearSeen() {
    seen.clear();
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void browserSignsInSeesThePageAndSignsOut() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(origin + "/hello?x=1");
      browser.waitForUrl("http://127.0.0.1:" + provider.baseUrl().port() + "/default/authorize");
      String authorize = browser.driver.getCurrentUrl();
      assertThat(authorize).contains("code_challenge_method=S256").contains("state=").contains("nonce=")
          .contains("redirect_uri=" + java.net.URLEncoder.encode(origin + OidcLogin.CALLBACK_PATH, "UTF-8"));
      browser.signInAtMockProvider("alice", "{\"email\":\"alice@example.com\",\"name\":\"Alice Example\"}");
      browser.waitForUrl(origin + "/hello");
      assertThat(browser.driver.getCurrentUrl()).isEqualTo(origin + "/hello?x=1");
      assertThat(browser.bodyText()).isEqualTo("hello alice@example.com / Alice Example at /hello");
      MultiMap headers = seen.poll(5, TimeUnit.SECONDS);
      assertThat(headers.get(PATH)).isEqualTo("/hello");
      assertThat(headers.getAll(UserHeaders.EMAIL)).containsExactly("alice@example.com");
      assertThat(headers.getAll(UserHeaders.NAME)).containsExactly("Alice Example");

      Cookie session = browser.driver.manage().getCookieNamed(OidcLogin.SESSION_COOKIE);
      assertThat(session).isNotNull();
      assertThat(session.isSecure()).isTrue();
      assertThat(session.isHttpOnly()).isTrue();
      assertThat(session.getSameSite()).isEqualTo("Lax");
      assertThat(session.getPath()).isEqualTo("/");
      assertThat(session.getExpiry()).isNotNull();
      assertThat(session.getValue()).doesNotContain("alice");
      assertThat(browser.driver.manage().getCookieNamed(OidcLogin.FLOW_COOKIE)).isNull();

      // The same cookie from another client, with spoofed user headers: the backend sees the gate's values only.
      Answer spoofed = get("/again", session.getValue(), "mallory@evil.example");
      assertThat(spoofed.status()).isEqualTo(200);
      MultiMap again = seen.poll(5, TimeUnit.SECONDS);
      assertThat(again.get(PATH)).isEqualTo("/again");
      assertThat(again.getAll(UserHeaders.EMAIL)).containsExactly("alice@example.com");
      assertThat(again.getAll(UserHeaders.NAME)).containsExactly("Alice Example");

      // Tampered, expired, or made for another name: refused like no cookie (back to the provider).
      byte[] raw = Base64.getUrlDecoder().decode(session.getValue());
      raw[raw.length / 2] ^= 0x20;
      String tampered = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
      JsonObject claims = new JsonObject().put("m", "oidc").put("e", "alice@example.com").put("v", true)
          .put("n", "Alice");
      String expired = sealer.seal(claims, OidcLogin.SESSION, NAME, Instant.now().minusSeconds(1));
      String otherName = sealer.seal(claims, OidcLogin.SESSION, "other.funnel.localhost", Instant.now().plusSeconds(600));
      String stillGood = sealer.seal(claims, OidcLogin.SESSION, NAME, Instant.now().plusSeconds(600));
      for (String bad : List.of(tampered, expired, otherName, "")) {
        Answer refused = get("/private", bad, "alice@example.com");
        assertThat(refused.status()).as("cookie %s", bad).isEqualTo(302);
        assertThat(refused.response().getHeader("Location")).startsWith(issuer + "/authorize");
      }
      assertThat(seen).isEmpty();
      assertThat(get("/private", stillGood, null).status()).as("the control: a good cookie passes").isEqualTo(200);
      seen.clear();

      // Logout clears the cookie; the next visit goes to the provider again.
      browser.driver.get(origin + OidcLogin.LOGOUT_PATH);
      assertThat(browser.bodyText()).contains("You are signed out");
      assertThat(browser.driver.manage().getCookieNamed(OidcLogin.SESSION_COOKIE)).isNull();
      browser.driver.get(origin + "/hello");
      browser.waitForUrl(issuer + "/authorize");
      assertThat(seen).isEmpty();
    }
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS)
  void aUserOutsideTheAllowListGets403AndAGroupMemberGetsIn() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(origin + "/secret");
      browser.waitForUrl(issuer + "/authorize");
      browser.signInAtMockProvider("mallory", "{\"email\":\"mallory@evil.example\",\"groups\":[\"users\"]}");
      browser.waitForUrl(origin + "/secret");
      assertThat(browser.bodyText()).contains("mallory@evil.example is signed in but may not use this page");
      assertThat(browser.driver.getTitle()).isEqualTo("Not allowed");
      assertThat(status(browser, origin + "/secret")).isEqualTo(403);
      assertThat(seen).isEmpty();

      browser.driver.get(origin + OidcLogin.LOGOUT_PATH);
      browser.driver.get(origin + "/team");
      browser.waitForUrl(issuer + "/authorize");
      browser.signInAtMockProvider("bob", "{\"email\":\"bob@elsewhere.example\",\"groups\":[\"staff\",\"admins\"]}");
      browser.waitForUrl(origin + "/team");
      // No name claim: the name falls back to the email.
      assertThat(browser.bodyText()).isEqualTo("hello bob@elsewhere.example / bob@elsewhere.example at /team");
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void skipPathsBypassTheGateAndStillNeverCarryASpoofedUser() throws Exception {
    Answer hook = get("/webhooks/github", null, "admin@evil.example");
    assertThat(hook.status()).isEqualTo(200);
    MultiMap headers = seen.poll(5, TimeUnit.SECONDS);
    assertThat(headers.contains(UserHeaders.EMAIL)).isFalse();
    // Dot segments are resolved before the skip check: this is /private, not under /webhooks/.
    assertThat(get("/webhooks/../private", null, null).status()).isEqualTo(302);
    assertThat(get("/webhooks/%2e%2e/private", null, null).status()).isEqualTo(302);
    assertThat(seen).isEmpty();
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aPostWithoutALoginGets401AndTheCallbackRefusesForgedAnswers() throws Exception {
    Answer post = await(client.request(options(HttpMethod.POST, "/form", null, null))
        .compose(req -> req.send("a=1").compose(r -> r.body().map(b -> new Answer(r, b)))));
    assertThat(post.status()).isEqualTo(401);
    // A callback with no sign-in cookie, or with a state that is not the cookie's.
    assertThat(get(OidcLogin.CALLBACK_PATH + "?code=x&state=y", null, null).status()).isEqualTo(400);
    Answer start = get("/x", null, null);
    String flow = start.response().cookies().stream().filter(c -> c.startsWith(OidcLogin.FLOW_COOKIE + "="))
        .findFirst().orElseThrow();
    String flowValue = flow.substring(flow.indexOf('=') + 1, flow.indexOf(';'));
    RequestOptions forged = options(HttpMethod.GET, OidcLogin.CALLBACK_PATH + "?code=x&state=forged", null, null)
        .putHeader("Cookie", OidcLogin.FLOW_COOKIE + "=" + flowValue);
    int forgedStatus = await(client.request(forged).compose(req -> req.send().compose(r -> r.body().map(b -> r.statusCode()))));
    assertThat(forgedStatus).isEqualTo(400);
    assertThat(seen).isEmpty();
  }

  private int status(Browser browser, String url) throws Exception {
    Cookie session = browser.driver.manage().getCookieNamed(OidcLogin.SESSION_COOKIE);
    return get(url.substring(origin.length()), session.getValue(), null).status();
  }

  record Answer(HttpClientResponse response, Buffer body) {
    int status() {
      return response.statusCode();
    }
  }

  private RequestOptions options(HttpMethod method, String uri, String session, String spoofedEmail) {
    RequestOptions options = new RequestOptions().setMethod(method)
        .setServer(SocketAddress.inetSocketAddress(site.actualPort(), "127.0.0.1"))
        .setHost(NAME).setPort(site.actualPort()).setURI(uri);
    if (session != null) {
      options.putHeader("Cookie", OidcLogin.SESSION_COOKIE + "=" + session);
    }
    if (spoofedEmail != null) {
      options.putHeader(UserHeaders.EMAIL, spoofedEmail).putHeader(UserHeaders.NAME, "Spoofed");
    }
    return options;
  }

  private Answer get(String uri, String session, String spoofedEmail) {
    return await(client.request(options(HttpMethod.GET, uri, session, spoofedEmail))
        .compose(req -> req.send().compose(r -> r.body().map(b -> new Answer(r, b)))));
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
