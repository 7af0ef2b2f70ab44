package dev.funnel.terminator;

import static dev.funnel.terminator.Fixture.CLIENT_IP;
import static dev.funnel.terminator.Fixture.NAME;
import static dev.funnel.terminator.Fixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServeFlags;
import dev.funnel.terminator.auth.Browser;
import dev.funnel.terminator.auth.LoginSettings;
import dev.funnel.terminator.gate.GateChain;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Cookie;

/**
 * The login gate wired into the real terminator by the gate chain ({@code GateChain.standard(LoginSettings)}),
 * routes from the same flag values a node gets ({@code --auth 443=oidc}, {@code --auth 443:/hooks=off},
 * {@code --auth 443:/api=bearer:FILE}), behind TLS and the PROXY header, with a real provider
 * (mock-oauth2-server) and a real browser (headless Chromium) through the relay the node agent stands for.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoginRoutesTest {

  static final String TOKEN = "0123456789abcdef0123456789abcdef";

  @TempDir
  static Path tmp;

  static Vertx vertx;
  static MockOAuth2Server provider;
  static String issuer;
  static Fixture.Backend backend;
  static TerminatorVerticle terminator;
  static Fixture.Relay relay;
  static HttpClient h2;
  static String origin;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.builder().with(FunnelVertx.nodeOptions()).build();
    provider = new MockOAuth2Server(OAuth2Config.Companion.fromJson("{\"interactiveLogin\":true}"));
    provider.start(InetAddress.getByName("127.0.0.1"), 0);
    issuer = "http://127.0.0.1:" + provider.baseUrl().port() + "/default";
    Fixture fixture = new Fixture(tmp.resolve("state"));
    backend = Fixture.Backend.start(vertx, false, null);
    Path tokens = Files.writeString(tmp.resolve("tokens"), "deploy " + TOKEN + "\n");
    String http = "http://127.0.0.1:" + backend.port();
    ServeConfig config = ServeFlags.parse(List.of("443=" + http, "443:/hooks=" + http + "/hooks",
            "443:/api=" + http),
        Map.of("auth", List.of("443=oidc", "443:/hooks=off", "443:/api=bearer:" + tokens)));
    LoginSettings login = new LoginSettings(OidcOptions.of(issuer, "funnel-node", null),
        AuthOptions.none().withAllowDomains(List.of("example.com")), tmp.resolve("node-state"));
    terminator = new TerminatorVerticle(new TerminatorOptions()
        .setRoutes(config.ports())
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setEventLoops(2)
        .setGates(GateChain.standard(login)));
    await(vertx.deployVerticle(terminator));
    relay = Fixture.Relay.start(vertx, terminator.listeners().get(443));
    origin = "https://" + NAME + ":" + relay.address().port();
    h2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true));
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      await(vertx.close());
    }
    if (provider != null) {
      provider.shutdown();
    }
  }

  @BeforeEach
  void clear() {
    backend.seen.clear();
  }

  @Test
  void aBrowserSignsInThroughTheTerminatorsRoutes() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(origin + "/page?q=1");
      browser.waitForUrl(issuer + "/authorize");
      assertThat(backend.seen).isEmpty();
      browser.signInAtMockProvider("dana", "{\"email\":\"dana@example.com\",\"name\":\"Dana\"}");
      browser.waitForUrl(origin + "/page");
      assertThat(browser.bodyText()).isEqualTo("ok");
      Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.uri()).isEqualTo("/page?q=1");
      assertThat(seen.headers().getAll("Funnel-User-Email")).containsExactly("dana@example.com");
      assertThat(seen.headers().getAll("Funnel-User-Name")).containsExactly("Dana");
      assertThat(seen.headers().getAll("X-Forwarded-For")).containsExactly(CLIENT_IP);
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
          Files.getPosixFilePermissions(tmp.resolve("node-state").resolve("login-cookie.key")))).isEqualTo("rw-------");

      // HTTP/2 from another client with the browser's cookie and a spoofed user: the gate's user reaches the backend.
      Cookie session = browser.driver.manage().getCookieNamed("__Host-funnel-login");
      backend.seen.clear();
      int status = status(HttpMethod.GET, "/h2", "cookie", "__Host-funnel-login=" + session.getValue(),
          "funnel-user-email", "mallory@evil.example");
      assertThat(status).isEqualTo(200);
      Fixture.Seen h2seen = backend.seen.poll(5, TimeUnit.SECONDS);
      assertThat(h2seen.headers().getAll("Funnel-User-Email")).containsExactly("dana@example.com");

      browser.driver.get(origin + "/.funnel/logout");
      assertThat(browser.bodyText()).contains("You are signed out");
      browser.driver.get(origin + "/page");
      browser.waitForUrl(issuer + "/authorize");
    }
  }

  @Test
  void anOffRouteAndABearerRouteOnTheSamePort() throws Exception {
    // /hooks has --auth off: no login, and a spoofed user never passes.
    assertThat(status(HttpMethod.GET, "/hooks/x", "funnel-user-email", "root@example.com")).isEqualTo(200);
    Fixture.Seen hook = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(hook.uri()).isEqualTo("/hooks/x");
    assertThat(hook.headers().contains("Funnel-User-Email")).isFalse();
    // /api takes the bearer token, not a login.
    assertThat(status(HttpMethod.GET, "/api/v", "authorization", "Bearer " + TOKEN)).isEqualTo(200);
    assertThat(backend.seen.poll(5, TimeUnit.SECONDS).headers().getAll("Funnel-User-Name")).containsExactly("deploy");
    assertThat(status(HttpMethod.GET, "/api/v", "authorization", "Bearer nope-nope-nope-nope")).isEqualTo(401);
    assertThat(status(HttpMethod.GET, "/api/v")).isEqualTo(401);
    // The rest of the port is behind the login.
    assertThat(status(HttpMethod.GET, "/other")).isEqualTo(302);
    assertThat(status(HttpMethod.POST, "/other")).isEqualTo(401);
    assertThat(backend.seen).isEmpty();
  }

  static int status(HttpMethod method, String uri, String... headers) {
    RequestOptions options = new RequestOptions().setMethod(method).setServer(relay.address()).setHost(NAME)
        .setPort(443).setURI(uri);
    for (int i = 0; i < headers.length; i += 2) {
      options.addHeader(headers[i], headers[i + 1]);
    }
    return await(h2.request(options).compose(req -> req.send(Buffer.buffer("x"))
        .compose(r -> r.body().map(b -> r.statusCode()))));
  }
}
