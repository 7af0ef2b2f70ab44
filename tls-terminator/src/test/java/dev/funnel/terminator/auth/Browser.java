package dev.funnel.terminator.auth;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven by Debian's chromedriver through Selenium (installed by {@code .ci/run}).
 * Both binaries are named, so Selenium Manager has nothing to look up or download. A fresh profile each time.
 */
public final class Browser implements AutoCloseable {

  public static final String CHROMIUM = "/usr/bin/chromium";
  public static final String CHROMEDRIVER = "/usr/bin/chromedriver";

  public final WebDriver driver;
  private final Path profile;

  public Browser() throws IOException {
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER);
    profile = Files.createTempDirectory("funnel-chromium-");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--ignore-certificate-errors", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER))
        .usingAnyFreePort()
        .build();
    driver = new ChromeDriver(service, options);
    driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(20));
  }

  public String bodyText() {
    return driver.findElement(By.tagName("body")).getText();
  }

  /** Waits (bounded) until the current URL starts with {@code prefix}. */
  public void waitForUrl(String prefix) {
    new WebDriverWait(driver, Duration.ofSeconds(15)).until(d -> d.getCurrentUrl().startsWith(prefix));
  }

  /** Signs in on mock-oauth2-server's interactive login form as {@code user} with these claims (JSON). */
  public void signInAtMockProvider(String user, String claimsJson) {
    driver.findElement(By.name("username")).sendKeys(user);
    driver.findElement(By.name("claims")).sendKeys(claimsJson);
    driver.findElement(By.cssSelector("input[type=submit]")).click();
  }

  @Override
  public void close() throws IOException {
    try {
      driver.quit();
    } finally {
      try (var walk = Files.walk(profile)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
