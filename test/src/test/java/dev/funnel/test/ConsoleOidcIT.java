package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.terminator.auth.Browser;
import java.io.File;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin console's OpenID Connect sign-in, end to end: a real {@code funnel server} with
 * {@code --console-oidc-issuer … --console-allow-email alice@example.com}, a real OpenID Connect
 * provider (mock-oauth2-server in this JVM on 127.0.0.1, its interactive login form) and Debian's
 * headless Chromium. An allowed address signs in (PKCE S256, back on the overview, the session cookie
 * as after a token sign-in); an address not allowed, and the allowed one marked unverified, are
 * refused and stay signed out; the admin token still signs in beside the provider.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ConsoleOidcIT {

  static final String CLIENT = "funnel-console";

  private final Path logs = Path.of("target", "e2e-logs", "console-oidc");
  private final Path shots = Path.of("target", "console-screenshots");
  private MockOAuth2Server provider;
  private FunnelProcess server;
  private String issuer;
  private String origin;
  private String token;

  @BeforeAll
  void start() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of(Browser.CHROMIUM)) && Files.isExecutable(Path.of(Browser.CHROMEDRIVER)),
        "chromium and chromium-driver (Debian) are not installed: .ci/run installs them");
    Files.createDirectories(shots);
    Path dir = TempDirs.create("funnel-console-oidc");
    Path state = dir.resolve("state");
    provider = new MockOAuth2Server(OAuth2Config.Companion.fromJson("{\"interactiveLogin\":true}"));
    provider.start(InetAddress.getByName("127.0.0.1"), 0);
    issuer = "http://127.0.0.1:" + provider.baseUrl().port() + "/default";
    Path secret = Files.writeString(dir.resolve("console-secret"), "s3cret\n");
    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(),
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
        "--console-oidc-issuer", issuer, "--console-oidc-client-id", CLIENT,
        "--console-oidc-secret-file", secret.toString(), "--console-allow-email", "alice@example.com");
    origin = "http://127.0.0.1:" + server.fromReadyLine("admin http://127\\.0\\.0\\.1:(\\d+)");
    token = Files.readString(state.resolve("admin-token")).trim();
  }

  @AfterAll
  void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (provider != null) {
      provider.shutdown();
    }
  }

  @Test
  void anAllowedAddressSignsInThroughTheProvider() throws Exception {
    try (Browser browser = new Browser()) {
      toProvider(browser);
      assertThat(browser.driver.getCurrentUrl()).contains("code_challenge_method=S256").contains("nonce=")
          .contains("client_id=" + CLIENT)
          .contains("redirect_uri=" + URLEncoder.encode(origin + "/ui/oidc/callback", StandardCharsets.UTF_8));
      browser.signInAtMockProvider("alice", "{\"email\":\"alice@example.com\",\"name\":\"Alice\"}");
      waitForTitle(browser, "Overview");
      assertThat(browser.driver.getCurrentUrl()).isEqualTo(origin + "/ui/");
      Cookie session = browser.driver.manage().getCookieNamed("funnel-console");
      assertThat(session).isNotNull();
      assertThat(session.isSecure()).isTrue();
      assertThat(session.isHttpOnly()).isTrue();
      assertThat(session.getSameSite()).isEqualTo("Strict");
      screenshot(browser, "oidc-signed-in");
      assertThat(server.output()).as("a normal start with a provider up, and a sign-in: quiet")
          .doesNotContain("WARNING").doesNotContain("SEVERE");

      // Signed in for real: another page, then sign out.
      browser.driver.get(origin + "/ui/tailnets");
      waitForTitle(browser, "Tailnets");
      browser.driver.findElement(By.cssSelector("form.signout button")).click();
      waitForTitle(browser, "Sign in");
      browser.driver.get(origin + "/ui/");
      assertThat(browser.driver.getCurrentUrl()).isEqualTo(origin + "/ui/sign-in");
    }
  }

  @Test
  void anAddressNotAllowedOrNotVerifiedIsRefused() throws Exception {
    for (String claims : List.of("{\"email\":\"mallory@example.com\"}",
        "{\"email\":\"alice@example.com\",\"email_verified\":false}")) {
      try (Browser browser = new Browser()) {
        toProvider(browser);
        browser.signInAtMockProvider("someone", claims);
        browser.waitForUrl(origin + "/ui/oidc/callback");
        waitForTitle(browser, "Sign in");
        assertThat(browser.driver.findElement(By.cssSelector(".flash.error")).getText())
            .contains("not allowed to sign in to this console");
        if (claims.contains("mallory")) {
          screenshot(browser, "oidc-refused");
        }
        browser.driver.get(origin + "/ui/");
        assertThat(browser.driver.getCurrentUrl()).as("still signed out").isEqualTo(origin + "/ui/sign-in");
      }
    }
  }

  @Test
  void theAdminTokenStillSignsIn() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(origin + "/ui/sign-in");
      assertThat(browser.driver.findElements(By.id("oidc-sign-in"))).hasSize(1);
      screenshot(browser, "sign-in-with-oidc");
      browser.driver.findElement(By.id("token")).sendKeys(token);
      browser.driver.findElement(By.cssSelector("form[action='/ui/sign-in'] button")).click();
      waitForTitle(browser, "Overview");
      assertThat(browser.driver.getCurrentUrl()).isEqualTo(origin + "/ui/");
    }
  }

  @Test
  void aProviderWithoutAnAllowListIsAUsageError() throws Exception {
    FunnelProcess.Result run = FunnelProcess.run(logs, "server", "--state", TempDirs.create("funnel-oidc-usage")
        .toString(), "--console-oidc-issuer", issuer, "--console-oidc-client-id", CLIENT);
    assertThat(run.exit()).as(run.all()).isEqualTo(2);
    assertThat(run.all()).contains("funnel server: --console-oidc-issuer needs --console-allow-email ADDR")
        .doesNotContain("Exception");
  }

  private void toProvider(Browser browser) {
    browser.driver.get(origin + "/ui/");
    assertThat(browser.driver.getCurrentUrl()).isEqualTo(origin + "/ui/sign-in");
    browser.driver.findElement(By.id("oidc-sign-in")).click();
    browser.waitForUrl(issuer + "/authorize");
  }

  private static void waitForTitle(Browser browser, String title) {
    new WebDriverWait(browser.driver, Duration.ofSeconds(15)).until(d -> d.getTitle().startsWith(title + " ·"));
  }

  private void screenshot(Browser browser, String name) throws Exception {
    File png = ((TakesScreenshot) browser.driver).getScreenshotAs(OutputType.FILE);
    Files.copy(png.toPath(), shots.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }
}
