package dev.funnel.terminator.auth;

import static dev.funnel.terminator.auth.LoginGateBrowserTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.options.AuthOptions;
import dev.funnel.common.options.OidcOptions;
import dev.funnel.common.tls.DevCa;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.httpproxy.HttpProxy;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Non-browser clients through the login gate with curl: HTTP basic from an htpasswd file (a bcrypt hash made
 * by glibc, not by the code under test) and static bearer tokens; a request body read after the (off-loop)
 * bcrypt check arrives whole. Then discovery against a provider that is not up yet: 503, retried, then login.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LoginGateCredentialsTest {

  static final String NAME = "api.funnel.localhost";
  static final String HASH = "$2y$10$abcdefghijklmnopqrstuu23JPZtHcGhwXSF41f93o/7vBdDut3Xu"; // "correct horse"
  static final String TOKEN = "0123456789abcdef0123456789abcdef";

  @TempDir
  static Path state;

  Vertx vertx;
  HttpServer backend;
  HttpClient proxyClient;
  HttpClient client;
  DevCa.KeyAndChain leaf;
  final LinkedBlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

  record Seen(String path, MultiMap headers, String sha256, long length) {
  }

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    backend = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      seen.add(new Seen(req.path(), MultiMap.caseInsensitiveMultiMap().addAll(req.headers()), sha256(body.getBytes()),
          body.length()));
      req.response().end("hello " + req.getHeader(UserHeaders.NAME));
    }));
    await(backend.listen(0, "127.0.0.1"));
    proxyClient = vertx.createHttpClient();
    leaf = DevCa.loadOrCreate(state).issue(List.of(NAME), Duration.ofDays(1));
    client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false));
  }

  @AfterAll
  void stop() {
    if (vertx != null) {
      await(vertx.close());
    }
  }

  @BeforeEach
  void clear() {
    seen.clear();
  }

  /** An HTTPS site whose every route goes through {@code gate} (and {@code login}'s routes when given), then the backend. */
  int site(LoginGate gate, OidcLogin login) {
    HttpProxy proxy = HttpProxy.reverseProxy(proxyClient).origin(backend.actualPort(), "127.0.0.1");
    Router router = Router.router(vertx);
    router.route().handler(ctx -> {
      UserHeaders.removeFrom(ctx.request().headers());
      ctx.next();
    });
    if (login != null) {
      login.mount(router);
    }
    router.route().handler(gate);
    router.route().handler(ctx -> proxy.handle(ctx.request()));
    HttpServer site = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(
        new PemKeyCertOptions().setKeyValue(Buffer.buffer(leaf.keyPem())).setCertValue(Buffer.buffer(leaf.chainPem()))))
        .requestHandler(router);
    return await(site.listen(0, "127.0.0.1")).actualPort();
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void curlWithBasicOrBearerCredentials() throws Exception {
    Path htpasswd = state.resolve("htpasswd");
    Files.writeString(htpasswd, "alice:" + HASH + "\n");
    Path tokens = state.resolve("tokens");
    Files.writeString(tokens, "# CI deploys\nci " + TOKEN + "\n");
    java.util.Queue<String> decisions = new java.util.concurrent.ConcurrentLinkedQueue<>();
    LoginGate gate = new LoginGate(vertx, AuthOptions.parse("basic:" + htpasswd + ",bearer:" + tokens), null, NAME,
        decisions::add);
    await(gate.ready());
    int port = site(gate, null);

    Curl ok = curl(port, "/basic", "-u", "alice:correct horse", "-H", "Funnel-User-Name: root");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo("hello alice");
    Seen basic = seen.poll(5, TimeUnit.SECONDS);
    assertThat(basic.headers().getAll(UserHeaders.NAME)).containsExactly("alice");
    assertThat(basic.headers().contains(UserHeaders.EMAIL)).isFalse();

    Curl wrong = curl(port, "/basic", "-u", "alice:wrong", "-D", "-");
    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.body()).containsIgnoringCase("www-authenticate: Basic realm=\"" + NAME + "\"")
        .containsIgnoringCase("www-authenticate: Bearer realm=");
    assertThat(curl(port, "/basic", "-u", "mallory:correct horse").status()).isEqualTo(401);
    assertThat(curl(port, "/none").status()).isEqualTo(401);

    assertThat(curl(port, "/bearer", "-H", "Authorization: Bearer " + TOKEN).body()).isEqualTo("hello ci");
    assertThat(curl(port, "/bearer", "-H", "Authorization: bearer " + TOKEN + "x").status()).isEqualTo(401);
    assertThat(curl(port, "/bearer", "-H", "Authorization: Bearer " + TOKEN.substring(1)).status()).isEqualTo(401);
    assertThat(seen.poll(5, TimeUnit.SECONDS).path()).isEqualTo("/bearer");
    assertThat(seen).isEmpty();
    // One decision per request, by outcome: a bounded label, never the user.
    assertThat(decisions).containsExactly("basic-allowed", "basic-denied", "basic-denied", "unauthenticated",
        "bearer-allowed", "bearer-denied", "bearer-denied");
    assertThat(LoginGate.OUTCOMES).containsAll(decisions);

    // A 3 MiB upload waits, paused, while bcrypt runs on a worker, then reaches the backend byte for byte.
    byte[] upload = new byte[3 * 1024 * 1024 + 17];
    new Random(7).nextBytes(upload);
    Path file = state.resolve("upload.bin");
    Files.write(file, upload);
    Curl post = curl(port, "/upload", "-u", "alice:correct horse", "--data-binary", "@" + file);
    assertThat(post.status()).isEqualTo(200);
    Seen received = seen.poll(5, TimeUnit.SECONDS);
    assertThat(received.length()).isEqualTo(upload.length);
    assertThat(received.sha256()).isEqualTo(sha256(upload));
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aProviderThatIsNotUpYetIsRetriedWithoutBlocking() throws Exception {
    int providerPort;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      providerPort = free.getLocalPort();
    }
    String issuer = "http://127.0.0.1:" + providerPort + "/default";
    OidcLogin login = new OidcLogin(vertx, OidcOptions.of(issuer, "funnel-node", null),
        new SealedCookie(LoginKey.loadOrCreate(state)));
    MockOAuth2Server provider = new MockOAuth2Server();
    try {
      assertThat(login.start().toCompletionStage().toCompletableFuture().handle((v, e) -> e).get(10, TimeUnit.SECONDS))
          .as("the first discovery fails: nothing listens yet").isNotNull();
      assertThat(login.ready()).isFalse();
      LoginGate gate = new LoginGate(vertx, AuthOptions.parse("oidc").withAllowEmails(List.of("*")), login, NAME);
      int port = site(gate, login);
      Curl early = curl(port, "/", "-D", "-");
      assertThat(early.status()).isEqualTo(503);
      assertThat(early.body()).containsIgnoringCase("retry-after: 5").contains("not reachable yet");

      provider.start(InetAddress.getByName("127.0.0.1"), providerPort);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!login.ready() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(login.ready()).as("discovered by a background retry").isTrue();
      Curl later = curl(port, "/", "-D", "-");
      assertThat(later.status()).isEqualTo(302);
      assertThat(later.body()).containsIgnoringCase("location: " + issuer + "/authorize?");
      assertThat(seen).isEmpty();
    } finally {
      login.close();
      provider.shutdown();
    }
  }

  record Curl(int status, String body) {
  }

  /** curl to the site at NAME (resolved to 127.0.0.1), body (and -D - headers) on stdout, status last. */
  static Curl curl(int port, String path, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "-k", "--max-time", "20",
        "--resolve", NAME + ":" + port + ":127.0.0.1", "-w", "\n%{http_code}"));
    command.addAll(List.of(args));
    command.add("https://" + NAME + ":" + port + path);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    int nl = out.lastIndexOf('\n');
    return new Curl(Integer.parseInt(out.substring(nl + 1).trim()), out.substring(0, nl));
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
