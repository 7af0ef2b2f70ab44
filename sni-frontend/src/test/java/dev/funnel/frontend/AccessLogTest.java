package dev.funnel.frontend;

import static dev.funnel.frontend.Backend.await;
import static dev.funnel.frontend.Backend.connect;
import static dev.funnel.frontend.Backend.readExactly;
import static dev.funnel.frontend.Backend.readToEnd;
import static dev.funnel.frontend.Hellos.NAME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.FrontendOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One logfmt line per connection on {@code funnel.access}: routed and refused alike, and none when it is off. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AccessLogTest {

  /** key=value or key="quoted value" pairs. */
  private static final Pattern PAIR = Pattern.compile("(\\w+)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S+)");

  private Vertx vertx;
  private Backend backend;
  private Fakes fakes;
  private FrontendVerticle frontend;
  /** Held, so the JUL logger (weakly kept by its manager) is the one the frontend logs to. */
  private final Logger accessLogger = Logger.getLogger("funnel.access");
  private final List<LogRecord> lines = new CopyOnWriteArrayList<>();
  private final Handler handler = new Handler() {
    @Override
    public void publish(LogRecord record) {
      lines.add(record);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeEach
  void setUp() throws Exception {
    vertx = FunnelVertx.withCodecs(Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2)));
    accessLogger.addHandler(handler);
    backend = new Backend();
    fakes = Fakes.deploy(vertx, backend.port()).await(10, TimeUnit.SECONDS);
    fakes.registry.put(NAME, new Route(NAME, 443, "node-7", "gw-1", 1));
  }

  @AfterEach
  void tearDown() throws Exception {
    accessLogger.removeHandler(handler);
    backend.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void deployFrontend(boolean accessLog) throws Exception {
    frontend = new FrontendVerticle(new FrontendOptions()
        .setPublicListeners(Map.of(443, new HostPort("127.0.0.1", 0)))
        .setHelloTimeoutMillis(1_500)
        .setAccessLog(accessLog), fakes.links);
    vertx.deployVerticle(frontend).await(10, TimeUnit.SECONDS);
  }

  @Test
  void aRoutedTunnelHasEveryField() throws Exception {
    deployFrontend(true);
    byte[] hello = Hellos.capture("curl-tls13").getBytes();
    byte[] down = "twelve bytes".getBytes(StandardCharsets.US_ASCII);
    CompletableFuture<byte[]> node = backend.async(() -> {
      try (Socket s = backend.accept()) {
        byte[] got = readExactly(s, hello.length);
        s.getOutputStream().write(down);
        return got;
      }
    });
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).isEqualTo(down);
    }
    await(node);

    Map<String, String> line = onlyLine();
    assertThat(line).containsEntry("port", "443").containsEntry("sni", NAME).containsEntry("node", "node-7")
        .containsEntry("gateway", "gw-1").containsEntry("outcome", "routed")
        .containsEntry("bytes_in", Integer.toString(hello.length)).containsEntry("bytes_out", "12")
        .containsKeys("time", "client", "setup_ms", "duration_ms")
        .doesNotContainKey("reason");
    assertThat(line.get("client")).startsWith("127.0.0.1:");
    assertThat(Long.parseLong(line.get("setup_ms"))).isNotNegative();
    assertThat(Long.parseLong(line.get("duration_ms"))).isGreaterThanOrEqualTo(Long.parseLong(line.get("setup_ms")));
    assertThat(lines.get(0).getLevel()).isEqualTo(Level.INFO);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "nobody.demo.funnel.localhost, no_route, nobody.demo.funnel.localhost, 'no route for nobody.demo.funnel.localhost:443'",
      "web.demo.example.com, bad_name, web.demo.example.com, 'is not NODE.TAILNET.funnel.localhost'"})
  void aRefusalIsOneLineWithItsOutcomeAndReason(String name, String outcome, String sni, String reason)
      throws Exception {
    deployFrontend(true);
    byte[] hello = Hellos.jdk("TLSv1.3", name).getBytes();
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).hasSize(7);
    }

    Map<String, String> line = onlyLine();
    assertThat(line).containsEntry("outcome", outcome).containsEntry("sni", sni).containsEntry("node", "-")
        .containsEntry("setup_ms", "-").containsEntry("bytes_in", Integer.toString(hello.length))
        .containsEntry("bytes_out", "7");
    assertThat(line.get("reason")).startsWith("\"").contains(reason);
  }

  @Test
  void plainHttpAndASilentClientAreLoggedToo() throws Exception {
    deployFrontend(true);
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readToEnd(client)).isEmpty();
    }
    try (Socket silent = connect(frontend.actualPorts().get(443))) {
      assertThat(readToEnd(silent)).isEmpty();
    }
    awaitLines(2);
    assertThat(lines).extracting(r -> parse(r.getMessage()).get("outcome"))
        .containsExactlyInAnyOrder("not_tls", "hello_timeout");
    assertThat(lines).allSatisfy(r -> assertThat(parse(r.getMessage())).containsEntry("sni", "-"));
  }

  @Test
  void offMeansNoLineAtAll() throws Exception {
    deployFrontend(false);
    byte[] hello = Hellos.jdk("TLSv1.3", "nobody.demo.funnel.localhost").getBytes();
    try (Socket client = connect(frontend.actualPorts().get(443))) {
      client.getOutputStream().write(hello);
      assertThat(readToEnd(client)).hasSize(7);
    }
    // The refusal's counter moves in the same step as the access line would be written.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (noRoutes() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(noRoutes()).isEqualTo(1);
    assertThat(lines).isEmpty();
  }

  @Test
  void logfmtQuotesOnlyWhatNeedsIt() {
    assertThat(FrontendConnection.logfmt("web.demo.funnel.localhost")).isEqualTo("web.demo.funnel.localhost");
    assertThat(FrontendConnection.logfmt("two words")).isEqualTo("\"two words\"");
    assertThat(FrontendConnection.logfmt("a=\"b\"\\")).isEqualTo("\"a=\\\"b\\\"\\\\\"");
    assertThat(FrontendConnection.logfmt("nul\u0000é")).isEqualTo("\"nul\\x00\\xe9\"");
    assertThat(FrontendConnection.logfmt("")).isEqualTo("\"\"");
  }

  private double noRoutes() {
    return frontend.meterRegistry().get("funnel.frontend.connections").tag("outcome", "no_route").tag("port", "443")
        .counter().count();
  }

  private Map<String, String> onlyLine() throws InterruptedException {
    awaitLines(1);
    assertThat(lines).hasSize(1);
    return parse(lines.get(0).getMessage());
  }

  private void awaitLines(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (lines.size() < n && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(lines).hasSizeGreaterThanOrEqualTo(n);
  }

  private static Map<String, String> parse(String line) {
    Map<String, String> pairs = new java.util.LinkedHashMap<>();
    Matcher m = PAIR.matcher(line);
    while (m.find()) {
      pairs.putIfAbsent(m.group(1), m.group(2));
    }
    return pairs;
  }
}
