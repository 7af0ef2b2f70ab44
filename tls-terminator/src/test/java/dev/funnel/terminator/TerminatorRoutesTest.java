package dev.funnel.terminator;

import static dev.funnel.terminator.Fixture.NAME;
import static dev.funnel.terminator.Fixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServeFlags;
import dev.funnel.common.serve.ServePort;
import dev.funnel.terminator.gate.ClientAddress;
import dev.funnel.terminator.gate.GateChain;
import dev.funnel.terminator.gate.GateFactory;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Routes of one HTTP port through the real terminator (TLS, PROXY header, Vert.x clients as they
 * are): longest prefix, prefix replacement, file/text/redirect targets, the root never left, gates
 * in the chain, run-time changes.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TerminatorRoutesTest {

  static final String SECRET = "outside-the-root-secret";

  @TempDir
  static Path tmp;

  static Vertx vertx;
  static Fixture.Backend backend;
  static TerminatorVerticle terminator;
  static Fixture.Relay relay443;
  static Fixture.Relay relay8443;
  static HttpClient h1;
  static HttpClient h2;
  /** One connection at most: a run-time change must not close it. */
  static HttpClient single;
  static Path root;

  /** A test gate on /guarded: denies the header {@code X-Deny}, and reads the body whole for /guarded/sum. */
  static Map<GateChain.Step, GateFactory> testGates() {
    Map<GateChain.Step, GateFactory> gates = new EnumMap<>(GateChain.Step.class);
    gates.put(GateChain.Step.NETWORK, (policy, ctx) -> {
      Handler<RoutingContext> h = rc -> {
        if (ClientAddress.of(rc.request()).isEmpty() || rc.request().getHeader("X-Deny") != null) {
          HttpForwarder.plain(rc.response(), 403, "403 Forbidden\n");
        } else {
          rc.next();
        }
      };
      return Future.succeededFuture(h);
    });
    gates.put(GateChain.Step.VERIFY, (policy, ctx) -> {
      Handler<RoutingContext> h = rc -> {
        rc.request().resume();
        rc.request().body().onSuccess(body -> {
          rc.put(GateChain.BUFFERED_BODY, body);
          rc.next();
        }).onFailure(rc::fail);
      };
      return Future.succeededFuture(h);
    });
    return gates;
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.builder().with(FunnelVertx.nodeOptions()).build();
    Fixture fixture = new Fixture(tmp.resolve("state"));
    backend = Fixture.Backend.start(vertx, false, null);
    root = Files.createDirectories(tmp.resolve("site"));
    Files.writeString(root.resolve("index.html"), "<h1>home</h1>");
    Files.writeString(root.resolve("a.txt"), "0123456789abcdef");
    Files.createDirectories(root.resolve("sub"));
    Files.writeString(root.resolve("sub/b.css"), "body{}");
    Files.writeString(root.resolve(".env"), SECRET);
    Files.writeString(tmp.resolve("outside.txt"), SECRET);
    Files.createDirectories(tmp.resolve("elsewhere"));
    Files.writeString(tmp.resolve("elsewhere/secret.txt"), SECRET);
    Files.createSymbolicLink(root.resolve("escape.txt"), tmp.resolve("outside.txt"));
    Files.createSymbolicLink(root.resolve("dirlink"), tmp.resolve("elsewhere"));
    Files.createSymbolicLink(root.resolve("inside.txt"), root.resolve("a.txt"));
    String http = "http://127.0.0.1:" + backend.port();
    ServeConfig config = ServeFlags.parse(List.of(
        "443=file://" + root,
        "443:/api=" + http,
        "443:/api/v2=" + http + "/v2",
        "443:/hello=text:hello there",
        "443:/old=redirect:https://example.com/new",
        "443:/guarded=" + http + "/g",
        "8443=text:one"),
        Map.of("allow-cidr", List.of("443:/guarded=0.0.0.0/0"), "verify", List.of("443:/guarded=github:/unused")));
    terminator = new TerminatorVerticle(new TerminatorOptions()
        .setRoutes(config.ports())
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setEventLoops(2)
        .setGates(new GateChain(testGates())));
    await(vertx.deployVerticle(terminator));
    relay443 = Fixture.Relay.start(vertx, terminator.listeners().get(443));
    relay8443 = Fixture.Relay.start(vertx, terminator.listeners().get(8443));
    h1 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_1_1).setUseAlpn(true));
    h2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true));
    single = vertx.httpClientBuilder().with(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_1_1).setKeepAlive(true))
        .with(new io.vertx.core.http.PoolOptions().setHttp1MaxSize(1)).build();
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @BeforeEach
  void clearSeen() {
    backend.seen.clear();
  }

  record Answer(HttpClientResponse response, Buffer body) {
    int status() {
      return response.statusCode();
    }

    String header(String name) {
      return response.getHeader(name);
    }

    String text() {
      return body.toString(StandardCharsets.UTF_8);
    }
  }

  static Answer get(HttpClient client, Fixture.Relay relay, String uri, String... headers) {
    return send(client, relay, HttpMethod.GET, uri, null, headers);
  }

  static Answer send(HttpClient client, Fixture.Relay relay, HttpMethod method, String uri, Buffer body, String... headers) {
    RequestOptions options = new RequestOptions().setMethod(method).setURI(uri).setServer(relay.address())
        .setHost(NAME).setPort(443);
    for (int i = 0; i < headers.length; i += 2) {
      options.addHeader(headers[i], headers[i + 1]);
    }
    return await(client.request(options).compose(request -> (body == null ? request.send() : request.send(body))
        .compose(response -> response.body().map(b -> new Answer(response, b)))));
  }

  @ParameterizedTest
  @CsvSource({
      "/api, /",
      "/api/, /",
      "/api/users?q=1&x=%2F, /users?q=1&x=%2F",
      "/api/v2, /v2",
      "/api/v2/items/7, /v2/items/7",
      "/api/v20, /v20",
      "/guarded/x, /g/x"})
  void longestPrefixWinsAndIsReplacedByTheTargetPath(String uri, String backendUri) throws Exception {
    for (HttpClient client : List.of(h1, h2)) {
      Answer answer = get(client, relay443, uri);
      assertThat(answer.status()).as(uri).isEqualTo(200);
      assertThat(answer.text()).isEqualTo("ok");
      assertThat(backend.seen.poll(5, TimeUnit.SECONDS).uri()).isEqualTo(backendUri);
    }
  }

  @Test
  void aSimilarPrefixIsNotTheRoute() {
    Answer answer = get(h1, relay443, "/apix");
    assertThat(answer.status()).isEqualTo(404);
    assertThat(backend.seen).isEmpty();
  }

  @Test
  void filesWithTypesEtagRangeAndConditionalGet() {
    for (HttpClient client : List.of(h1, h2)) {
      Answer whole = get(client, relay443, "/a.txt");
      assertThat(whole.status()).isEqualTo(200);
      assertThat(whole.text()).isEqualTo("0123456789abcdef");
      assertThat(whole.header("content-type")).startsWith("text/plain");
      assertThat(whole.header("accept-ranges")).isEqualTo("bytes");
      String etag = whole.header("etag");
      assertThat(etag).matches("\"[0-9a-f]+-[0-9a-f]+\"");
      assertThat(whole.header("last-modified")).isNotNull();

      Answer part = get(client, relay443, "/a.txt", "Range", "bytes=2-5");
      assertThat(part.status()).isEqualTo(206);
      assertThat(part.text()).isEqualTo("2345");
      assertThat(part.header("content-range")).isEqualTo("bytes 2-5/16");

      Answer same = get(client, relay443, "/a.txt", "If-None-Match", etag);
      assertThat(same.status()).isEqualTo(304);
      assertThat(same.body().length()).isZero();
      assertThat(get(client, relay443, "/a.txt", "If-None-Match", "\"other\"").status()).isEqualTo(200);
      assertThat(get(client, relay443, "/a.txt", "If-Modified-Since", whole.header("last-modified")).status())
          .isEqualTo(304);

      assertThat(get(client, relay443, "/a.txt", "Range", "bytes=99-").status()).isEqualTo(416);
      Answer index = get(client, relay443, "/");
      assertThat(index.text()).isEqualTo("<h1>home</h1>");
      assertThat(index.header("content-type")).startsWith("text/html");
      assertThat(get(client, relay443, "/sub/b.css").header("content-type")).startsWith("text/css");
      assertThat(get(client, relay443, "/inside.txt").text()).as("a link inside the root is served")
          .isEqualTo("0123456789abcdef");
      assertThat(get(client, relay443, "/sub/").status()).as("no listing unless asked").isEqualTo(404);
      assertThat(get(client, relay443, "/missing").status()).isEqualTo(404);
      assertThat(send(client, relay443, HttpMethod.POST, "/a.txt", Buffer.buffer("x")).status()).isEqualTo(405);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "/../outside.txt", "/%2e%2e/outside.txt", "/%2E%2E/outside.txt", "/sub/../../outside.txt",
      "/..%2foutside.txt", "/sub/..%2f..%2foutside.txt", "/%2e%2e%2foutside.txt", "/sub%2f..%2f..%2foutside.txt",
      "/..%5coutside.txt", "/escape.txt", "/dirlink/secret.txt", "/dirlink/", "/.env", "/sub/%2e%2e/.env",
      "/a.txt%00", "/api/../../outside.txt"})
  void neverLeavesTheRoot(String uri) {
    for (HttpClient client : List.of(h1, h2)) {
      Answer answer = get(client, relay443, uri);
      assertThat(answer.status()).as(uri).isIn(400, 404);
      assertThat(answer.text()).as(uri).doesNotContain(SECRET);
    }
  }

  @Test
  void textAndRedirect() {
    Answer text = send(h1, relay443, HttpMethod.POST, "/hello", Buffer.buffer("x"));
    assertThat(text.status()).isEqualTo(200);
    assertThat(text.text()).isEqualTo("hello there");
    assertThat(text.header("content-type")).isEqualTo("text/plain; charset=utf-8");

    Answer moved = get(h2, relay443, "/old/page?x=1");
    assertThat(moved.status()).isEqualTo(302);
    assertThat(moved.header("location")).isEqualTo("https://example.com/new/page?x=1");
    assertThat(get(h1, relay443, "/old").header("location")).isEqualTo("https://example.com/new");
  }

  @Test
  void theRoutesGatesRunBeforeItsTarget() throws Exception {
    Answer denied = get(h1, relay443, "/guarded/x", "X-Deny", "1");
    assertThat(denied.status()).isEqualTo(403);
    assertThat(backend.seen.poll(300, TimeUnit.MILLISECONDS)).as("the backend saw nothing").isNull();
    assertThat(get(h1, relay443, "/api/x", "X-Deny", "1").status()).as("other routes have no gate").isEqualTo(200);
  }

  @Test
  void aBodyAGateReadIsSentIntact() throws Exception {
    Buffer body = Fixture.pattern(300_000);
    for (HttpClient client : List.of(h1, h2)) {
      // /guarded/sum → /g/sum on the backend, which does not know /g/sum: mount /guarded on /sum instead.
      Answer answer = send(client, relay443, HttpMethod.POST, "/guarded", body);
      assertThat(answer.status()).isEqualTo(200);
      Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.uri()).isEqualTo("/g");
      assertThat(seen.headers().get("content-length")).isEqualTo(String.valueOf(body.length()));
    }
  }

  @Test
  void runTimeChangeTakesEffectOnTheSameConnection() {
    Answer before = get(single, relay8443, "/two");
    assertThat(before.text()).isEqualTo("one");
    ServePort port = terminator.routes(8443).orElseThrow();
    ServePort next = ServeFlags.parse(List.of("8443=text:one", "8443:/two=text:two"), Map.of()).ports().get(8443);
    await(terminator.updateRoutes(8443, next));
    for (int i = 0; i < 8; i++) {   // every event loop's router was swapped
      Answer after = get(single, relay8443, "/two");
      assertThat(after.text()).isEqualTo("two");
      assertThat(after.response().request().connection()).isSameAs(before.response().request().connection());
    }
    assertThat(terminator.routes(8443)).contains(next);

    // A change that cannot be served as asked is refused whole; the old routes stay.
    ServePort unenforceable = next.withPolicy(GatePolicy.NONE.withRateLimit(GatePolicy.RateLimit.parse("5/s")));
    Future<Void> refused = terminator.updateRoutes(8443, unenforceable);
    assertThat(catchFailure(refused)).hasMessageContaining("cannot enforce [rate-limit]");
    assertThat(get(single, relay8443, "/two").text()).isEqualTo("two");
    await(terminator.updateRoutes(8443, port));
    assertThat(get(single, relay8443, "/two").text()).isEqualTo("one");
  }

  private static Throwable catchFailure(Future<?> future) {
    try {
      future.await(10, TimeUnit.SECONDS);
    } catch (Throwable t) {
      return t;
    }
    throw new AssertionError("expected a failure");
  }
}
