package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.terminator.auth.Browser;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.openqa.selenium.Cookie;

/**
 * The login gate end to end: real {@code funnel server} and {@code funnel node} processes, a real OpenID
 * Connect provider (mock-oauth2-server in this JVM, on 127.0.0.1) and a real browser (Debian's headless
 * Chromium through Selenium), which resolves {@code *.localhost} to loopback and reaches the node through
 * the frontend's public port. The node's web app records the headers it got. Needs the node's
 * {@code --auth PORT=oidc} (the serve-routes launcher work) together with the login flags.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LoginIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME = "web.demo." + DOMAIN;
  static final String SESSION_COOKIE = "__Host-funnel-login";

  private Path dir;
  private Path state;
  private Path logs;
  private Vertx vertx;
  private HttpServer app;
  private MockOAuth2Server provider;
  private String issuer;
  private FunnelProcess server;
  private FunnelProcess node;
  private int public443;
  private String origin;
  private final LinkedBlockingQueue<MultiMap> seen = new LinkedBlockingQueue<>();

  @BeforeAll
  void start() throws Exception {
    dir = TempDirs.create("funnel-login");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "login");
    vertx = Vertx.vertx();
    app = vertx.createHttpServer().requestHandler(req -> {
      if (!req.path().equals("/favicon.ico")) {
        seen.add(MultiMap.caseInsensitiveMultiMap().addAll(req.headers()).add("x-test-path", req.path()));
      }
      req.response().putHeader("content-type", "text/plain")
          .end("hello " + req.getHeader("Funnel-User-Email") + " at " + req.path());
    });
    app.listen(0, "127.0.0.1").await(20, TimeUnit.SECONDS);

    provider = new MockOAuth2Server(OAuth2Config.Companion.fromJson("{\"interactiveLogin\":true}"));
    provider.start(InetAddress.getByName("127.0.0.1"), 0);
    issuer = "http://127.0.0.1:" + provider.baseUrl().port() + "/default";
    Path secret = Files.writeString(dir.resolve("oidc-secret"), "s3cret\n");

    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    int gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String authKey = admin("key", "add", "--tailnet", "demo").lastLine().trim();

    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--authkey", authKey, "--hostname", "web", "--ca", state.resolve("ca.pem").toString(),
        "--state", dir.resolve("node-state").toString(),
        "--funnel", "443=http://127.0.0.1:" + app.actualPort(),
        "--auth", "443=oidc",
        "--oidc-issuer", issuer, "--oidc-client-id", "funnel-web", "--oidc-secret-file", secret.toString(),
        "--allow-email", "alice@example.com", "--allow-domain", "corp.example",
        "--auth-skip", "/webhooks/");
    origin = "https://" + NAME + ":" + public443;
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server}) {
      if (c != null) {
        c.close();
      }
    }
    if (provider != null) {
      provider.shutdown();
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  @BeforeEach
  void clear() {
    seen.clear();
  }

  @Test
  void aBrowserSignsInThroughTheFunnelAndTheBackendLearnsWho() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(origin + "/hello");
      browser.waitForUrl(issuer + "/authorize");
      assertThat(browser.driver.getCurrentUrl()).contains("code_challenge_method=S256")
          .contains("redirect_uri=" + URLEncoder.encode(origin + "/.funnel/oidc/callback", StandardCharsets.UTF_8));
      assertThat(seen).isEmpty();
      browser.signInAtMockProvider("alice", "{\"email\":\"alice@example.com\",\"name\":\"Alice\"}");
      browser.waitForUrl(origin + "/hello");
      assertThat(browser.bodyText()).isEqualTo("hello alice@example.com at /hello");
      MultiMap headers = seen.poll(10, TimeUnit.SECONDS);
      assertThat(headers.get("x-test-path")).isEqualTo("/hello");
      assertThat(headers.getAll("Funnel-User-Email")).containsExactly("alice@example.com");
      assertThat(headers.getAll("Funnel-User-Name")).containsExactly("Alice");
      assertThat(headers.getAll("X-Forwarded-For")).containsExactly("127.0.0.1");

      // curl with the browser's cookie and spoofed user headers: the backend hears the gate, not the client.
      Cookie session = browser.driver.manage().getCookieNamed(SESSION_COOKIE);
      Exec spoof = curl("/spoof", "-H", "Cookie: " + SESSION_COOKIE + "=" + session.getValue(),
          "-H", "Funnel-User-Email: mallory@evil.example", "-H", "Funnel-User-Name: Mallory");
      assertThat(spoof.output()).endsWith("200");
      MultiMap spoofed = seen.poll(10, TimeUnit.SECONDS);
      assertThat(spoofed.getAll("Funnel-User-Email")).containsExactly("alice@example.com");
      assertThat(spoofed.getAll("Funnel-User-Name")).containsExactly("Alice");

      // Without the cookie curl is sent to the provider; with a tampered one too.
      String tampered = session.getValue().substring(0, 20) + (session.getValue().charAt(20) == 'A' ? 'B' : 'A')
          + session.getValue().substring(21);
      for (String cookie : List.of("", SESSION_COOKIE + "=" + tampered)) {
        Exec refused = curl("/private", "-H", "Cookie: " + cookie, "-H", "Funnel-User-Email: alice@example.com");
        assertThat(refused.output()).endsWith("302");
      }
      // A skipped path passes without a login, and without the spoofed header.
      assertThat(curl("/webhooks/github", "-H", "Funnel-User-Email: alice@example.com").output()).endsWith("200");
      MultiMap hook = seen.poll(10, TimeUnit.SECONDS);
      assertThat(hook.get("x-test-path")).isEqualTo("/webhooks/github");
      assertThat(hook.contains("Funnel-User-Email")).isFalse();
      assertThat(seen).isEmpty();

      browser.driver.get(origin + "/.funnel/logout");
      assertThat(browser.bodyText()).contains("signed out");
      browser.driver.get(origin + "/hello");
      browser.waitForUrl(issuer + "/authorize");
      assertThat(seen).isEmpty();
    }
  }

  @Test
  void aUserOutsideTheAllowListGets403() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(origin + "/hello");
      browser.waitForUrl(issuer + "/authorize");
      browser.signInAtMockProvider("mallory", "{\"email\":\"mallory@evil.example\"}");
      browser.waitForUrl(origin + "/hello");
      assertThat(browser.driver.getTitle()).isEqualTo("Not allowed");
      assertThat(browser.bodyText()).contains("mallory@evil.example is signed in but may not use this page");
      Cookie session = browser.driver.manage().getCookieNamed(SESSION_COOKIE);
      assertThat(curl("/hello", "-H", "Cookie: " + SESSION_COOKIE + "=" + session.getValue()).output())
          .endsWith("403");
      assertThat(seen).isEmpty();

      // The allowed domain gets in (after signing out the other account).
      browser.driver.get(origin + "/.funnel/logout");
      browser.driver.get(origin + "/team");
      browser.waitForUrl(issuer + "/authorize");
      browser.signInAtMockProvider("carol", "{\"email\":\"carol@corp.example\"}");
      browser.waitForUrl(origin + "/team");
      assertThat(browser.bodyText()).isEqualTo("hello carol@corp.example at /team");
    }
  }

  /** curl through the frontend's public port; the status code is the output's last line. */
  private Exec curl(String path, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "-o", "/dev/null", "--max-time", "20",
        "--cacert", state.resolve("ca.pem").toString(), "--connect-to", NAME + ":443:127.0.0.1:" + public443,
        "-w", "%{http_code}"));
    command.addAll(List.of(args));
    command.add("https://" + NAME + path);
    Exec exec = Exec.run(command);
    assertThat(exec.exit()).as(exec.output()).isZero();
    return exec;
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }
}
