package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.funnel.terminator.auth.Browser;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;
import org.openqa.selenium.By;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Two {@code funnel registry} processes in one cluster (a PostgreSQL store, one state directory, so
 * one admin token), and Chromium: an admin signed in to the console through one registry stays
 * signed in on the other (the console's sessions are in the cluster), changes a tailnet there (the
 * form's CSRF token is accepted whichever registry rendered it), and signing out on one signs out of
 * both. The overview's figures are the cluster's, those {@code GET /v1/status} gives (a registry
 * process has no frontend of its own). A browser keeps cookies per host, not per port, so the two admin listeners on 127.0.0.1
 * stand for two registries behind one address.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 200, unit = TimeUnit.SECONDS)
@Isolated("a cluster of three JVMs")
class ConsoleClusterIT {

  private final Path logs = Path.of("target", "e2e-logs", "console-cluster");
  private final List<FunnelProcess> processes = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Postgres postgres;
  private String ui1;
  private String ui2;
  private String token;

  @BeforeAll
  void start() throws Exception {
    assumeTrue(Postgres.binDir().isPresent(), "PostgreSQL is not installed (.ci/run installs Debian's postgresql)");
    assumeTrue(Files.isExecutable(Path.of(Browser.CHROMIUM)) && Files.isExecutable(Path.of(Browser.CHROMEDRIVER)),
        "chromium and chromium-driver (Debian) are not installed: .ci/run installs them");
    Path dir = TempDirs.create("funnel-console-cluster");
    Path state = dir.resolve("state");
    postgres = Postgres.start(logs, Ports.free());
    List<Integer> ports = List.of(Ports.free(), Ports.free());
    String members = "127.0.0.1:" + ports.get(0) + ",127.0.0.1:" + ports.get(1);
    List<String> uis = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      FunnelProcess registry = FunnelProcess.start("registry-" + (i + 1), logs, ClusterIT.JVM, "registry",
          "--cluster", "--cluster-host", "127.0.0.1", "--cluster-port", Integer.toString(ports.get(i)),
          "--cluster-members", members, "--state", state.toString(), "--admin-listen", "127.0.0.1:0",
          "--store", postgres.url());
      processes.add(registry);
      uis.add("http://127.0.0.1:" + registry.fromReadyLine("admin http://127\\.0\\.0\\.1:(\\d+)") + "/ui/");
    }
    ui1 = uis.get(0);
    ui2 = uis.get(1);
    token = Files.readString(state.resolve("admin-token")).trim();
  }

  @AfterAll
  void stop() throws Exception {
    for (FunnelProcess p : processes) {
      p.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  @Test
  void aSignedInAdminStaysSignedInOnTheOtherRegistry() throws Exception {
    try (Browser browser = new Browser()) {
      browser.driver.get(ui1 + "sign-in");
      browser.driver.findElement(By.id("token")).sendKeys(token);
      browser.driver.findElement(By.cssSelector("form[action='/ui/sign-in'] button")).click();
      waitForTitle(browser, "Overview");
      assertThat(browser.driver.getCurrentUrl()).isEqualTo(ui1);
      JsonObject status = rest(ui1, "/v1/status");
      assertThat(browser.driver.findElement(By.cssSelector("#tunnels-open .value")).getText())
          .isEqualTo(Long.toString(status.getLong("tunnelsOpen")));
      assertThat(browser.driver.findElement(By.cssSelector("#tunnels-rate .value")).getText())
          .isEqualTo(status.getValue("newTunnelsPerSecond").toString());

      // The other registry knows the session.
      browser.driver.get(ui2 + "tailnets");
      assertThat(browser.driver.getCurrentUrl()).as("not sent to sign in").isEqualTo(ui2 + "tailnets");
      waitForTitle(browser, "Tailnets");

      // A change through the other registry: its CSRF check passes, and the first one's REST API sees it.
      browser.driver.findElement(By.name("name")).sendKeys("shared");
      browser.driver.findElement(By.cssSelector("form[action='/ui/tailnets'] button[type=submit]")).click();
      new WebDriverWait(browser.driver, Duration.ofSeconds(15)).until(d ->
          !d.findElements(By.cssSelector(".flash.ok")).isEmpty());
      assertThat(browser.driver.findElement(By.cssSelector(".flash.ok")).getText()).contains("Tailnet shared added");
      assertThat(tailnets(ui1)).contains("shared");

      // Back on the first registry, then signed out through the second: out on both.
      browser.driver.get(ui1 + "tailnets");
      waitForTitle(browser, "Tailnets");
      browser.driver.get(ui2);
      waitForTitle(browser, "Overview");
      browser.driver.findElement(By.cssSelector("form.signout button")).click();
      waitForTitle(browser, "Sign in");
      browser.driver.get(ui1);
      assertThat(browser.driver.getCurrentUrl()).isEqualTo(ui1 + "sign-in");
    }
  }

  private JsonObject rest(String ui, String path) throws Exception {
    String api = ui.replace("/ui/", path);
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(api))
        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return new JsonObject(response.body());
  }

  private List<String> tailnets(String ui) throws Exception {
    JsonArray list = rest(ui, "/v1/tailnets").getJsonArray("tailnets");
    List<String> names = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      names.add(list.getJsonObject(i).getString("name"));
    }
    return names;
  }

  private static void waitForTitle(Browser browser, String title) {
    new WebDriverWait(browser.driver, Duration.ofSeconds(15)).until(d -> d.getTitle().startsWith(title + " ·"));
  }
}
