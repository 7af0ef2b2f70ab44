package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.tls.DevCa;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Paths and built-in handlers through real processes: {@code funnel server}, {@code funnel node}
 * with two {@code http://} routes and a {@code file://} route on one public port, curl as the
 * client (through the frontend, trusting the dev CA), and {@code funnel node serve add|list|rm}
 * changing the running node's routes, each change seen by the very next request.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RoutesIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME = "web.demo." + DOMAIN;
  static final String SECRET = "not-for-the-internet";

  private Path dir;
  private Path state;
  private Path nodeState;
  private Path site;
  private Path logs;
  private Vertx vertx;
  private RecordingHttpBackend web;
  private RecordingHttpBackend api;
  private FunnelProcess server;
  private FunnelProcess node;
  private int public443;

  @BeforeAll
  void start() throws Exception {
    dir = TempDirs.create("funnel-routes");
    state = dir.resolve("state");
    nodeState = dir.resolve("node-state");
    logs = Path.of("target", "e2e-logs", "routes");
    site = Files.createDirectories(dir.resolve("site"));
    Files.writeString(site.resolve("index.html"), "<h1>site</h1>\n");
    Files.writeString(site.resolve("notes.txt"), "0123456789abcdef\n");
    Files.writeString(dir.resolve("secret.txt"), SECRET);
    Files.createSymbolicLink(site.resolve("link.txt"), dir.resolve("secret.txt"));
    vertx = Vertx.vertx();
    web = new RecordingHttpBackend(vertx);
    api = new RecordingHttpBackend(vertx);

    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    int gateway = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    DevCa.Pem.certificates(Files.readString(caPem()));
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String authKey = admin("key", "add", "--tailnet", "demo").lastLine().trim();

    node = FunnelProcess.start("node", logs, List.of("-Xmx256m"), "node", "--server", "127.0.0.1:" + gateway,
        "--authkey", authKey, "--hostname", "web", "--ca", caPem().toString(), "--state", nodeState.toString(),
        "--funnel", "443=http://127.0.0.1:" + web.port(),
        "--funnel", "443:/api=http://127.0.0.1:" + api.port(),
        "--funnel", "443:/static=file://" + site);
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server, web, api}) {
      if (c != null) {
        c.close();
      }
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void twoPathsOnOnePortReachTwoBackends() throws Exception {
    Exec toApi = curl("-H", RecordingHttpBackend.TEST_ID + ": api-1", "-w", "%{http_code}",
        "https://" + NAME + "/api/users?page=2");
    assertThat(toApi.output()).isEqualTo("hello\n200");
    assertThat(api.seen("api-1").uri()).as("the /api prefix is replaced by the target's path").isEqualTo("/users?page=2");
    assertThat(web.seen("api-1")).isNull();

    Exec toWeb = curl("--http1.1", "-H", RecordingHttpBackend.TEST_ID + ": web-1", "-w", "%{http_code}",
        "https://" + NAME + "/apiary");
    assertThat(toWeb.output()).isEqualTo("hello\n200");
    assertThat(web.seen("web-1").uri()).isEqualTo("/apiary");
    assertThat(api.seen("web-1")).isNull();
  }

  @Test
  void aFileRouteWithRangeAndConditionalGet() throws Exception {
    Exec whole = curl("-D", "-", "https://" + NAME + "/static/notes.txt");
    assertThat(whole.output()).contains("HTTP/2 200").containsIgnoringCase("content-type: text/plain")
        .endsWith("0123456789abcdef\n");
    Matcher etag = Pattern.compile("(?im)^etag: (\"[^\"]+\")").matcher(whole.output());
    assertThat(etag.find()).as(whole.output()).isTrue();

    Exec part = curl("-r", "4-7", "-w", "\n%{http_code}", "https://" + NAME + "/static/notes.txt");
    assertThat(part.output()).isEqualTo("4567\n206");
    Exec same = curl("-H", "If-None-Match: " + etag.group(1), "-w", "%{http_code}", "https://" + NAME + "/static/notes.txt");
    assertThat(same.output()).isEqualTo("304");
    assertThat(curl("https://" + NAME + "/static/").output()).isEqualTo("<h1>site</h1>\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
      "/static/%2e%2e%2fsecret.txt", "/static/link.txt"})
  void theFileRouteNeverLeavesItsDirectory(String path) throws Exception {
    Exec r = curl("--path-as-is", "-w", "\n%{http_code}", "https://" + NAME + path);
    assertThat(r.output()).doesNotContain(SECRET);
    // Dot segments (also encoded) are resolved before routing: /static/../x is /x, the web backend's.
    assertThat(r.output()).as(path).isIn("404 Not Found\n\n404", "hello\n\n200");
    if (!path.contains("/../") && !path.contains("%2e%2e/")) {
      assertThat(r.output()).as(path).endsWith("404");
    }
  }

  @Test
  void serveAddTakesEffectOnTheNextRequestAndServeRmUndoesIt() throws Exception {
    assertThat(curl("-H", RecordingHttpBackend.TEST_ID + ": before", "https://" + NAME + "/hello").output())
        .as("the root route has it first").isEqualTo("hello\n");

    FunnelProcess.Result add = serve("add", "443:/hello=tcp://127.0.0.1:9");
    assertThat(add.exit()).as(add.all()).isEqualTo(1);
    assertThat(add.all()).as("a change that breaks the port's shape is refused, nothing changes")
        .contains("takes a whole port");
    assertThat(curl("https://" + NAME + "/hello").output()).isEqualTo("hello\n");

    add = serve("add", "443:/hello=text:hi from the node");
    assertThat(add.exit()).as(add.all()).isZero();
    assertThat(curl("-w", "\n%{http_code}", "https://" + NAME + "/hello/x").output()).isEqualTo("hi from the node\n200");
    assertThat(curl("-H", RecordingHttpBackend.TEST_ID + ": still-api", "https://" + NAME + "/api/x").output())
        .isEqualTo("hello\n");
    assertThat(api.seen("still-api")).isNotNull();

    FunnelProcess.Result list = serve("list");
    assertThat(list.exit()).as(list.all()).isZero();
    assertThat(list.stdout()).anyMatch(l -> l.matches("443 +https://" + Pattern.quote(NAME) + "/hello +text:hi from the node +- +yes"))
        .anyMatch(l -> l.matches("443 +https://" + Pattern.quote(NAME) + "/static +file://" + Pattern.quote(site.toString()) + " +- +yes"))
        .anyMatch(l -> l.contains("/api ") && l.contains("http://127.0.0.1:" + api.port()));

    FunnelProcess.Result rm = serve("rm", "443:/hello");
    assertThat(rm.exit()).as(rm.all()).isZero();
    assertThat(curl("-H", RecordingHttpBackend.TEST_ID + ": after", "https://" + NAME + "/hello").output())
        .isEqualTo("hello\n");
    assertThat(web.seen("after").uri()).isEqualTo("/hello");
  }

  private Exec curl(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--cacert", caPem().toString(),
        "--connect-to", NAME + ":443:127.0.0.1:" + public443));
    command.addAll(List.of(args));
    return Exec.run(command);
  }

  private FunnelProcess.Result serve(String... args) throws Exception {
    return FunnelProcess.serve(logs, nodeState, args);
  }

  private Path caPem() {
    return state.resolve("ca.pem");
  }

  private FunnelProcess.Result admin(String... args) throws Exception {
    return FunnelProcess.admin(logs, state, args);
  }
}
