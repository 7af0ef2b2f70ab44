package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.terminator.auth.Browser;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The admin console in a real browser: Debian's headless Chromium driven by Selenium through
 * Debian's chromedriver, against a real {@code funnel server} and a real {@code funnel node}, with
 * curl as the public client. Signs in with the admin token (the session cookie is Secure, HttpOnly,
 * SameSite=Strict on http://127.0.0.1), creates a tailnet and turns Funnel on, creates a key (shown
 * once; listed by {@code funnel admin key list}), watches the node the key enrolled come online and
 * the live figures move without a reload, turns Funnel off (curl is then refused), revokes the key,
 * removes the node; a change without the CSRF token is 403; the browser's console shows no CSP
 * violation. Screenshots of each page go to {@code target/console-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ConsoleIT {

  static final String DOMAIN = "funnel.localhost";
  static final String WEB = "web.acme." + DOMAIN;
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Duration WAIT = Duration.ofSeconds(30);

  private Path dir;
  private Path state;
  private Path logs;
  private Path shots;
  private FunnelProcess server;
  private FunnelProcess node;
  private com.sun.net.httpserver.HttpServer app;
  private ChromeDriverService driverService;
  private ChromeDriver browser;
  private String ui;
  private String token;
  private int public443;
  private int gatewayPort;
  private int shot;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  void start() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "chromium and chromium-driver (Debian) are not installed: .ci/run installs them");
    // The node's local app: a plain HTTP server on a loopback ephemeral port.
    app = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    app.createContext("/", exchange -> {
      byte[] body = "hello from the console test\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    app.start();
    dir = TempDirs.create("funnel-console");
    state = dir.resolve("state");
    logs = Path.of("target", "e2e-logs", "console");
    shots = Path.of("target", "console-screenshots");
    Files.createDirectories(shots);
    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(), "--domain", DOMAIN,
        "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    gatewayPort = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    ui = "http://127.0.0.1:" + server.fromReadyLine("admin http://127\\.0\\.0\\.1:(\\d+)") + "/ui/";
    token = Files.readString(state.resolve("admin-token")).trim();

    driverService = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort().withLogFile(logs.resolve("chromedriver.log").toFile()).build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--window-size=1280,900", "--user-data-dir=" + Files.createDirectory(dir.resolve("chromium-profile")));
    LoggingPreferences logging = new LoggingPreferences();
    logging.enable(LogType.BROWSER, Level.ALL);
    options.setCapability(ChromeOptions.LOGGING_PREFS, logging);
    browser = new ChromeDriver(driverService, options);
  }

  @AfterAll
  void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    if (driverService != null) {
      driverService.stop();
    }
    for (AutoCloseable c : new AutoCloseable[] {node, server}) {
      if (c != null) {
        c.close();
      }
    }
    if (app != null) {
      app.stop(0);
    }
  }

  @Test
  void anAdminRunsFunnelFromTheBrowser() throws Exception {
    // Sign in: no session → the sign-in page; a wrong token is refused; the right one signs in.
    browser.get(ui + "tailnets");
    assertThat(browser.getCurrentUrl()).endsWith("/ui/sign-in");
    screenshot("sign-in");
    signIn("fnl-admin-not-it");
    assertThat(text(".flash.error")).contains("That is not the admin token");
    signIn(token);
    assertThat(browser.getCurrentUrl()).endsWith("/ui/");
    Cookie session = browser.manage().getCookieNamed("funnel-console");
    assertThat(session).as("Chromium keeps a Secure cookie from http://127.0.0.1").isNotNull();
    assertThat(session.isSecure()).isTrue();
    assertThat(session.isHttpOnly()).isTrue();
    assertThat(session.getSameSite()).isEqualTo("Strict");
    assertThat(session.getValue()).doesNotContain(token);
    assertThat((String) js("return document.cookie")).as("HttpOnly: no script sees it").doesNotContain("funnel-console");

    // A tailnet, then Funnel on for it.
    nav("Tailnets");
    browser.findElement(By.cssSelector("#add-tailnet input[name=name]")).sendKeys("acme");
    submit(By.cssSelector("#add-tailnet button[type=submit]"));
    assertThat(text(".flash.ok")).contains("Tailnet acme added");
    assertThat(rest("GET", "/v1/tailnets/acme").getBoolean("funnel")).isFalse();
    submit(By.cssSelector("tr[data-tailnet=acme] button[name=toggle]"));
    assertThat(text(".flash.ok")).contains("Funnel is on for tailnet acme");
    assertThat(rest("GET", "/v1/tailnets/acme").getBoolean("funnel")).as("the REST API sees it").isTrue();
    screenshot("tailnets");

    // A key, shown once, seen by funnel admin key list.
    nav("Auth keys");
    new Select(browser.findElement(By.cssSelector("#add-key select[name=tailnet]"))).selectByValue("acme");
    browser.findElement(By.cssSelector("#add-key input[name=reusable]")).click();
    submit(By.cssSelector("#add-key button[type=submit]"));
    String key = text("#new-key");
    assertThat(key).startsWith("fnl-auth-");
    screenshot("key-created");
    JsonObject listed = rest("GET", "/v1/keys").getJsonArray("keys").getJsonObject(0);
    String keyId = listed.getString("id");
    FunnelProcess.Result cli = FunnelProcess.run(logs, "admin", "--state", state.toString(), "key", "list");
    assertThat(cli.exit()).as(cli.all()).isZero();
    assertThat(cli.all()).contains(keyId).doesNotContain(key);
    nav("Auth keys");
    assertThat(browser.getPageSource()).as("shown once").doesNotContain(key).contains(keyId);

    // The nodes page, open while a real node logs in with the key: it comes online without a reload.
    nav("Nodes");
    markPage();
    node = FunnelProcess.start("node", logs, List.of(), "node", "--server", "127.0.0.1:" + gatewayPort,
        "--hostname", "web", "--ca", state.resolve("ca.pem").toString(), "--state", dir.resolve("node").toString(),
        "--funnel", "443=http://127.0.0.1:" + app.getAddress().getPort(), "--authkey", key);
    // Online first; its ports follow once the node has sent them (a moment after its login).
    waitUntil("the node shows online with its port", () -> browser.findElements(
        By.cssSelector("tr[data-node='web.acme'] .badge.on")).stream().map(WebElement::getText).toList()
        .containsAll(List.of("online", "443")));
    // Its certificate's days left, as the node told its gateway (signed through it by the server's CA).
    // Read in one script call: htmx replaces the rows every 2 s, so an element found first may be gone.
    java.util.function.Supplier<String> cert = () -> String.valueOf(js(
        "const c = document.querySelector(\"tr[data-node='web.acme'] td.cert\"); return c ? c.textContent.trim() : '';"));
    waitUntil("the node's certificate shows", () -> cert.get().matches("\\d+ days left"));
    assertThat(pageStillMarked()).as("no reload").isTrue();
    assertThat(text("tr[data-node='web.acme']")).contains(WEB).contains("443");
    long daysLeft = rest("GET", "/v1/nodes").getJsonArray("nodes").getJsonObject(0).getLong("certificateDaysLeft");
    // The page was rendered a moment before the REST read: a fresh 90-day certificate can cross from 90 to 89
    // whole days left in between.
    assertThat(cert.get()).isIn(daysLeft + " days left", (daysLeft + 1) + " days left");
    assertThat(daysLeft).isPositive();
    screenshot("nodes");

    // Live figures: tunnels through the frontend and a refusal move them, without a reload.
    nav("Overview");
    markPage();
    String before = text("#figures");
    for (int i = 0; i < 3; i++) {
      Exec ok = curl(WEB);
      assertThat(ok.output()).as(ok.output()).contains("hello from the console test");
    }
    assertThat(curl("nobody.acme." + DOMAIN).exit()).isNotZero();
    waitUntil("the refusal shows", () -> !browser.findElements(By.cssSelector("#figures tr[data-reason=no_route]"))
        .isEmpty());
    // The rate is over the last 10 s: keep tunnels coming (one per poll, bounded by the wait) until it shows.
    waitUntil("the tunnel rate shows", () -> {
      try {
        curl(WEB);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      String rate = text("#tunnels-rate .value");
      return !rate.equals("—") && !rate.equals("0.0");
    });
    assertThat(text("#figures")).isNotEqualTo(before);
    assertThat(text("#nodes-online .value")).isEqualTo("1 / 1");
    assertThat(pageStillMarked()).as("no reload").isTrue();
    screenshot("overview");

    // Funnel off in the console: the public client is refused, and the nodes page says why.
    nav("Tailnets");
    submit(By.cssSelector("tr[data-tailnet=acme] button[name=toggle]"));
    assertThat(text(".flash.ok")).contains("Funnel is off for tailnet acme");
    Exec refused = curl(WEB);
    assertThat(refused.exit()).as(refused.output()).isNotZero();
    assertThat(refused.output()).doesNotContain("hello from the console test");
    nav("Nodes");
    assertThat(text("tr[data-node='web.acme']")).contains("443 refused").contains("Funnel is off for the tailnet");
    screenshot("nodes-funnel-off");

    // A change without the CSRF token, with the browser's own session cookie: 403, nothing changed.
    HttpResponse<String> forged = http.send(HttpRequest.newBuilder(URI.create(ui + "tailnets/acme/funnel"))
        .header("Cookie", "funnel-console=" + browser.manage().getCookieNamed("funnel-console").getValue())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("funnel=on")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(forged.statusCode()).isEqualTo(403);
    assertThat(rest("GET", "/v1/tailnets/acme").getBoolean("funnel")).isFalse();

    // Revoke the key; remove the node.
    nav("Auth keys");
    submit(By.cssSelector("tr[data-key='" + keyId + "'] button"));
    assertThat(text(".flash.ok")).contains("revoked");
    assertThat(rest("GET", "/v1/keys").getJsonArray("keys").getJsonObject(0).getString("revokedAt")).isNotNull();
    screenshot("keys");
    nav("Nodes");
    submit(By.cssSelector("tr[data-node='web.acme'] button"));
    assertThat(text(".flash.ok")).contains("Node web.acme removed");
    assertThat(rest("GET", "/v1/nodes").getJsonArray("nodes")).isEmpty();
    FunnelProcess.Result nodes = FunnelProcess.run(logs, "admin", "--state", state.toString(), "node", "list");
    assertThat(nodes.all()).doesNotContain("web.acme");
    screenshot("nodes-removed");

    // Sign out.
    submit(By.cssSelector("form.signout button"));
    assertThat(browser.getCurrentUrl()).endsWith("/ui/sign-in");
    browser.get(ui);
    assertThat(browser.getCurrentUrl()).endsWith("/ui/sign-in");

    // The browser's console: no CSP violation, no error, on any page seen.
    List<LogEntry> entries = browserLog();
    assertThat(entries).as("browser console").noneMatch(ConsoleIT::cspViolation);
    assertThat(entries).as("browser console errors")
        .noneMatch(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()
            // the wrong token at sign-in, on purpose
            && !(e.getMessage().contains("/ui/sign-in") && e.getMessage().contains("status of 401")));

    // And the check can fail: an inline style and script added now are refused by the policy and logged.
    js("var s = document.createElement('style'); s.textContent = 'body{color:red}'; document.head.appendChild(s);");
    waitUntil("the browser reports the violation", () -> browserLog().stream().anyMatch(ConsoleIT::cspViolation));
  }

  // ---------------------------------------------------------------- helpers

  private void signIn(String withToken) {
    if (!browser.getCurrentUrl().endsWith("/ui/sign-in")) {
      browser.get(ui + "sign-in");
    }
    WebElement field = browser.findElement(By.id("token"));
    field.clear();
    field.sendKeys(withToken);
    submit(By.cssSelector("form button[type=submit]"));
  }

  private void nav(String tab) {
    submit(By.linkText(tab));
  }

  /**
   * Clicks what {@code by} finds (a submit button or a link) and waits for the next page. Found again
   * if htmx swapped it out in between (the nodes table refreshes itself); at most 5 tries.
   */
  private void submit(By by) {
    WebElement page = browser.findElement(By.tagName("html"));
    for (int attempt = 1; ; attempt++) {
      try {
        browser.findElement(by).click();
        break;
      } catch (org.openqa.selenium.StaleElementReferenceException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
    // The old page is gone once its <html> is stale. Chromium sometimes answers a question about a
    // node of the page being replaced with "Node with given id does not belong to the document"
    // (a plain WebDriverException, seen once in a full run) instead of a stale-element error: gone too.
    new WebDriverWait(browser, WAIT).until(d -> {
      try {
        page.isEnabled();
        return false;
      } catch (org.openqa.selenium.StaleElementReferenceException e) {
        return true;
      } catch (org.openqa.selenium.WebDriverException e) {
        if (String.valueOf(e.getMessage()).contains("does not belong to the document")) {
          return true;
        }
        throw e;
      }
    });
  }

  private String text(String css) {
    return browser.findElement(By.cssSelector(css)).getText();
  }

  private Object js(String script) {
    return ((JavascriptExecutor) browser).executeScript(script);
  }

  /** Marks the window; a reload or navigation drops the mark. */
  private void markPage() {
    js("window.funnelMark = 'kept';");
  }

  private boolean pageStillMarked() {
    return "kept".equals(js("return window.funnelMark || null;"));
  }

  private void waitUntil(String what, java.util.function.BooleanSupplier condition) {
    new WebDriverWait(browser, WAIT).withMessage(what).until(d -> condition.getAsBoolean());
  }

  private final List<LogEntry> seen = new ArrayList<>();

  /** Everything the browser logged so far (the driver hands each entry out once). */
  private List<LogEntry> browserLog() {
    seen.addAll(browser.manage().logs().get(LogType.BROWSER).getAll());
    return List.copyOf(seen);
  }

  private static boolean cspViolation(LogEntry e) {
    return e.getMessage().contains("Content Security Policy");
  }

  private void screenshot(String name) throws Exception {
    File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(png.toPath(), shots.resolve(String.format("%02d-%s.png", ++shot, name)),
        StandardCopyOption.REPLACE_EXISTING);
  }

  private JsonObject rest(String method, String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(ui.replace("/ui/", path)))
        .header("Authorization", "Bearer " + token).method(method, HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  private Exec curl(String host) throws Exception {
    return Exec.run(List.of("curl", "-sS", "--max-time", "10", "--cacert", state.resolve("ca.pem").toString(),
        "--resolve", host + ":" + public443 + ":127.0.0.1", "https://" + host + ":" + public443 + "/"));
  }

  static {
    // Selenium Manager must never download a driver or a browser: the driver is given explicitly.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
  }
}
