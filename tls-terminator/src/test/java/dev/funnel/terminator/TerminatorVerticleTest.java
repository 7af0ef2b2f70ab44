package dev.funnel.terminator;

import static dev.funnel.terminator.Fixture.CLIENT_IP;
import static dev.funnel.terminator.Fixture.NAME;
import static dev.funnel.terminator.Fixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.ops.CapturedLog;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.tls.DevCa;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.dns.AddressResolverOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.junit5.VertxExtension;
import io.vertx.micrometer.backends.BackendRegistries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(VertxExtension.class)
class TerminatorVerticleTest {

  @TempDir
  static Path stateDir;

  static Vertx vertx;
  static Fixture fixture;
  static Fixture.Backend backend;
  static Fixture.Backend tlsBackend;
  static NetServer echo;
  static TerminatorVerticle terminator;
  static Fixture.Relay relay443;
  static Fixture.Relay relay8443;
  static Fixture.Relay relay10000;
  static HttpClient h1;
  static HttpClient h2;
  static WebSocketClient webSockets;
  static NetClient tls;

  @BeforeAll
  static void start() {
    // The public name resolves to loopback, so clients that cannot be pointed at an address
    // (the WebSocket client) still send SNI and Host for it.
    vertx = FunnelVertx.withCodecs(Vertx.builder().with(FunnelVertx.nodeOptions()
        .setAddressResolverOptions(new AddressResolverOptions().setHostsValue(Buffer.buffer("127.0.0.1 " + NAME + "\n"))))
        .build());
    fixture = new Fixture(stateDir);
    backend = Fixture.Backend.start(vertx, false, null);
    tlsBackend = Fixture.Backend.start(vertx, true, fixture.keyCert());
    echo = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(socket -> socket.pipeTo(socket));
    await(echo.listen());
    terminator = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(
            443, ServeTarget.parse("http://127.0.0.1:" + backend.port()),
            8443, ServeTarget.parse("https+insecure://127.0.0.1:" + tlsBackend.port() + "/app"),
            10000, ServeTarget.parse("tls-terminated-tcp://127.0.0.1:" + echo.actualPort())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert()));
    await(vertx.deployVerticle(terminator));
    relay443 = Fixture.Relay.start(vertx, terminator.listeners().get(443));
    relay8443 = Fixture.Relay.start(vertx, terminator.listeners().get(8443));
    relay10000 = Fixture.Relay.start(vertx, terminator.listeners().get(10000));
    h1 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_1_1).setUseAlpn(true));
    h2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true));
    webSockets = vertx.createWebSocketClient(new WebSocketClientOptions().setSsl(true).setTrustOptions(fixture.trust()));
    tls = vertx.createNetClient(new NetClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setHostnameVerificationAlgorithm("HTTPS"));
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @BeforeEach
  void clearSeen() {
    backend.seen.clear();
    tlsBackend.seen.clear();
  }

  /** A request to the public name through a relay; the body read inside the chain (see BUILD-NOTES). */
  static Future<Answer> call(HttpClient client, Fixture.Relay relay, RequestOptions options, Buffer body) {
    options.setServer(relay.address()).setHost(NAME);
    if (options.getPort() == null) {
      options.setPort(443);
    }
    return client.request(options).compose(request -> (body == null ? request.send() : request.send(body))
        .compose(response -> response.body().map(b -> new Answer(response, b))));
  }

  record Answer(HttpClientResponse response, Buffer body) {
    int status() {
      return response.statusCode();
    }
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void http11RequestKeepsHostPathQueryAndGetsForwardingHeaders() throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setPort(8443)
        .setURI("/some/path;p?q=1&x=%2F%20y&q=2")
        .addHeader("X-Forwarded-For", "6.6.6.6")
        .addHeader("X-Forwarded-Proto", "http")
        .addHeader("X-Forwarded-Host", "evil.example")
        .addHeader("Forwarded", "for=6.6.6.6")
        .addHeader("Funnel-Request", "?0")
        .addHeader("Funnel-User-Email", "admin@evil.example")
        .addHeader("funnel-user-name", "Admin")
        .addHeader("X-Real-IP", "6.6.6.6");
    Answer answer = await(call(h1, relay443, options, null));

    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.response().version()).isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(answer.body().toString()).isEqualTo("ok");
    Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.uri()).isEqualTo("/some/path;p?q=1&x=%2F%20y&q=2");
    assertThat(seen.headers().getAll("Host")).containsExactly(NAME + ":8443");
    assertThat(seen.headers().getAll("X-Forwarded-For")).containsExactly(CLIENT_IP);
    assertThat(seen.headers().getAll("X-Forwarded-Proto")).containsExactly("https");
    assertThat(seen.headers().getAll("X-Forwarded-Host")).containsExactly(NAME + ":8443");
    assertThat(seen.headers().getAll("Forwarded"))
        .containsExactly("for=" + CLIENT_IP + ";proto=https;host=\"" + NAME + ":8443\"");
    assertThat(seen.headers().getAll("Funnel-Request")).containsExactly("?1");
    assertThat(seen.headers().contains("X-Real-IP")).isFalse();
    // No gate on this port: a user header can only be a client's lie, and never reaches the backend.
    assertThat(seen.headers().contains("Funnel-User-Email")).isFalse();
    assertThat(seen.headers().contains("Funnel-User-Name")).isFalse();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void http2RequestReachesAnHttp11Backend() throws Exception {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setURI("/h2/path?x=1&y=%7E")
        .addHeader("cookie", "a=1").addHeader("cookie", "b=2")
        .addHeader("x-forwarded-for", "6.6.6.6")
        .addHeader("funnel-user-email", "admin@evil.example");
    Answer answer = await(call(h2, relay443, options, null));

    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.response().version()).isEqualTo(HttpVersion.HTTP_2);
    Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.version()).isEqualTo(HttpVersion.HTTP_1_1);
    assertThat(seen.uri()).isEqualTo("/h2/path?x=1&y=%7E");
    assertThat(seen.headers().names()).noneMatch(n -> n.startsWith(":"));
    assertThat(seen.headers().get("Host")).startsWith(NAME);
    assertThat(seen.headers().getAll("X-Forwarded-Host")).containsExactly(seen.headers().get("Host"));
    assertThat(seen.headers().getAll("X-Forwarded-For")).containsExactly(CLIENT_IP);
    assertThat(seen.headers().getAll("X-Forwarded-Proto")).containsExactly("https");
    assertThat(seen.headers().getAll("Funnel-Request")).containsExactly("?1");
    assertThat(seen.headers().get("Forwarded")).startsWith("for=" + CLIENT_IP + ";proto=https;host=");
    assertThat(seen.headers().getAll("cookie")).containsExactly("a=1; b=2");
    assertThat(seen.headers().contains("Funnel-User-Email")).isFalse();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void http2ClientsAreOfferedTheLargerStreamWindowAndVertxsStreamCap() {
    Answer answer = await(call(h2, relay443, new RequestOptions().setMethod(HttpMethod.GET).setURI("/settings"), null));
    assertThat(answer.status()).isEqualTo(200);
    io.vertx.core.http.Http2Settings settings = answer.response().request().connection().remoteSettings();
    assertThat(settings.getInitialWindowSize()).isEqualTo(TerminatorOptions.DEFAULT_HTTP2_STREAM_WINDOW_BYTES)
        .isGreaterThan(io.vertx.core.http.Http2Settings.DEFAULT_INITIAL_WINDOW_SIZE);
    assertThat(settings.getMaxConcurrentStreams())
        .isEqualTo(io.vertx.core.http.HttpServerOptions.DEFAULT_INITIAL_SETTINGS_MAX_CONCURRENT_STREAMS);
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void bodiesStreamIntactBothWaysOverHttp11AndHttp2() {
    Buffer upload = Fixture.pattern(6 * 1024 * 1024 + 123);
    for (HttpClient client : List.of(h1, h2)) {
      Answer sum = await(call(client, relay443, new RequestOptions().setMethod(HttpMethod.POST).setURI("/sum"), upload));
      assertThat(sum.status()).isEqualTo(200);
      assertThat(sum.body().toString()).isEqualTo(Fixture.sha256Hex(upload) + " " + upload.length());

      int size = 9 * 1024 * 1024 + 7;
      Answer download = await(call(client, relay443,
          new RequestOptions().setMethod(HttpMethod.GET).setURI("/download?bytes=" + size), null));
      assertThat(download.status()).isEqualTo(200);
      assertThat(download.body().length()).isEqualTo(size);
      assertThat(Fixture.sha256Hex(download.body())).isEqualTo(Fixture.sha256Hex(Fixture.pattern(size)));
    }
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void webSocketCarriesAThousandMessagesEachWayAndKeepsTheQuery() throws Exception {
    int count = 1000;
    Promise<List<String>> received = Promise.promise();
    List<String> messages = new ArrayList<>();
    WebSocketConnectOptions options = new WebSocketConnectOptions()
        .setHost(NAME).setPort(relay443.address().port()).setSsl(true).setURI("/ws/chat?room=7&x=%20y")
        .addHeader("X-Forwarded-For", "6.6.6.6");
    WebSocket ws = await(webSockets.connect(options).onSuccess(socket -> {
      socket.textMessageHandler(text -> {
        messages.add(text);
        if (messages.size() == count + 1) {
          received.tryComplete(List.copyOf(messages));
        }
      });
      for (int i = 0; i < count; i++) {
        socket.writeTextMessage("message-" + i);
      }
    }));
    List<String> got = await(received.future());
    ws.close();

    assertThat(got.get(0)).isEqualTo("hello");
    for (int i = 0; i < count; i++) {
      assertThat(got.get(i + 1)).isEqualTo("message-" + i);
    }
    Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.method()).isEqualTo("WS");
    assertThat(seen.uri()).isEqualTo("/ws/chat?room=7&x=%20y");
    assertThat(seen.headers().getAll("X-Forwarded-For")).containsExactly(CLIENT_IP);
    assertThat(seen.headers().getAll("Funnel-Request")).containsExactly("?1");
    assertThat(seen.headers().get("Host")).isEqualTo(NAME + ":" + relay443.address().port());
  }

  /**
   * A browser offers {@code permessage-deflate}: the offer and the backend's answer pass through
   * untouched (the terminator relays the upgrade and never speaks WebSocket itself), and compressed
   * messages flow both ways.
   */
  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void webSocketCompressionIsNegotiatedByTheClientAndTheBackendOnly() throws Exception {
    WebSocketClient compressing = vertx.createWebSocketClient(new WebSocketClientOptions().setSsl(true)
        .setTrustOptions(fixture.trust()).setTryUsePerMessageCompression(true));
    int count = 100;
    Promise<List<String>> received = Promise.promise();
    List<String> messages = new ArrayList<>();
    WebSocket ws = await(compressing.connect(new WebSocketConnectOptions()
        .setHost(NAME).setPort(relay443.address().port()).setSsl(true).setURI("/ws/deflate")).onSuccess(socket -> {
          socket.textMessageHandler(text -> {
            messages.add(text);
            if (messages.size() == count + 1) {
              received.tryComplete(List.copyOf(messages));
            }
          });
          for (int i = 0; i < count; i++) {
            socket.writeTextMessage("message-" + i + "-" + "x".repeat(500));
          }
        }));
    List<String> got = await(received.future());
    assertThat(ws.headers().getAll("Sec-WebSocket-Extensions")).containsExactly("permessage-deflate");
    ws.close();
    await(compressing.close());

    assertThat(got.get(0)).isEqualTo("hello");
    for (int i = 0; i < count; i++) {
      assertThat(got.get(i + 1)).isEqualTo("message-" + i + "-" + "x".repeat(500));
    }
    Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.headers().get("Sec-WebSocket-Extensions")).startsWith("permessage-deflate");
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void httpsInsecureTargetGetsThePathPrefix() throws Exception {
    Answer answer = await(call(h2, relay8443, new RequestOptions().setURI("/x/y?z=1"), null));
    assertThat(answer.status()).isEqualTo(200);
    Fixture.Seen seen = tlsBackend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.uri()).isEqualTo("/app/x/y?z=1");
    assertThat(seen.headers().getAll("X-Forwarded-For")).containsExactly(CLIENT_IP);
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void otherAuthorityGets421AndNeverReachesTheBackend() throws Exception {
    Answer overH2 = await(h2.request(new RequestOptions().setServer(relay443.address()).setHost(NAME).setPort(443)
            .setURI("/"))
        .compose(request -> request.authority(HostAndPort.create("other.example", 443)).send()
            .compose(response -> response.body().map(b -> new Answer(response, b)))));
    assertThat(overH2.response().version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(overH2.status()).isEqualTo(421);

    Answer overH1 = await(call(h1, relay443, new RequestOptions().setURI("/").putHeader("Host", "other.example"), null));
    assertThat(overH1.status()).isEqualTo(421);

    Answer upperCase = await(call(h1, relay443, new RequestOptions().setURI("/").putHeader("Host", "WEB.Demo.funnel.localhost."), null));
    assertThat(upperCase.status()).isEqualTo(200);
    Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.headers().get("Host")).isEqualTo("WEB.Demo.funnel.localhost.");
    assertThat(backend.seen).isEmpty();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void aCustomDomainIsServedOnlyWhileItIsAVerifiedAlias() throws Exception {
    RequestOptions blog = new RequestOptions().setURI("/").putHeader("Host", "blog.example.com");
    try {
      assertThat(await(call(h1, relay443, blog, null)).status()).as("not (yet) an alias").isEqualTo(421);
      terminator.updateAliasNames(java.util.Set.of("Blog.Example.com"));
      assertThat(await(call(h1, relay443, blog, null)).status()).as("verified: the next request").isEqualTo(200);
      assertThat(backend.seen.poll(5, TimeUnit.SECONDS).headers().get("Host")).isEqualTo("blog.example.com");
      terminator.updateAliasNames(java.util.Set.of());
      assertThat(await(call(h1, relay443, blog, null)).status()).as("withdrawn").isEqualTo(421);
      assertThat(backend.seen).isEmpty();
    } finally {
      terminator.updateAliasNames(java.util.Set.of());
    }
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void hopByHopResponseHeadersDoNotReachAnHttp2Client() {
    Answer answer = await(call(h2, relay443, new RequestOptions().setURI("/hop"), null));
    assertThat(answer.status()).isEqualTo(200);
    assertThat(answer.body().toString()).isEqualTo("hop");
    assertThat(answer.response().headers().contains("keep-alive")).isFalse();
    assertThat(answer.response().headers().contains("connection")).isFalse();
    assertThat(answer.response().headers().contains("x-hop")).isFalse();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void tlsTerminatedTcpCarriesPlaintextBothWays() {
    Buffer payload = Fixture.pattern(300 * 1024 + 5);
    Promise<Buffer> echoed = Promise.promise();
    Buffer got = Buffer.buffer();
    NetSocket socket = await(tls.connect(new ConnectOptions().setRemoteAddress(relay10000.address())
        .setSniServerName(NAME).setHost(NAME).setPort(10000).setSsl(true)));
    socket.handler(chunk -> {
      got.appendBuffer(chunk);
      if (got.length() >= payload.length()) {
        echoed.tryComplete(got);
      }
    });
    socket.write(payload);
    Buffer result = await(echoed.future());
    socket.close();
    assertThat(Fixture.sha256Hex(result)).isEqualTo(Fixture.sha256Hex(payload));
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.SECONDS)
  void terminatesWithOpenSsl() {
    assertThat(OpenSsl.isAvailable()).isTrue();
    assertThat(terminator.usesOpenSsl()).isTrue();
    assertThat(terminator.sslEngineOptions()).isInstanceOf(OpenSSLEngineOptions.class);
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void countsRequestsByStatus() {
    MeterRegistry registry = BackendRegistries.getDefaultNow();
    assertThat(registry).isNotNull();
    double before = count(registry, "200");
    await(call(h1, relay443, new RequestOptions().setURI("/"), null));
    await(call(h2, relay443, new RequestOptions().setURI("/"), null));
    // The server counts when its response ends, which may be just after the client has read it.
    eventually(() -> assertThat(count(registry, "200") - before).isEqualTo(2.0));
    assertThat(registry.find("funnel.terminator.request").tag("port", "443").timer()).isNotNull();
  }

  /** Retries an assertion for up to 15 seconds (a bound on a starved machine, not a timing assertion). */
  static void eventually(Runnable assertion) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  private static double count(MeterRegistry registry, String code) {
    Counter counter = registry.find("funnel.terminator.requests").tag("code", code).tag("port", "443").counter();
    return counter == null ? 0 : counter.count();
  }

  /**
   * A backend that is down is one outage in the log however many requests hit it, and its return
   * one line; a client that leaves before a (silent) backend answered is not the backend's outage.
   */
  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aBackendOutageIsOneWarningAndAClientThatLeavesIsNone() throws Exception {
    CapturedLog log = CapturedLog.of(TerminatorVerticle.class).down(HttpForwarder.class, java.util.logging.Level.FINE);
    List<String> lines = log.lines();
    NetServer probe = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0));
    await(probe.connectHandler(NetSocket::close).listen());
    int port = probe.actualPort();
    await(probe.close());
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + port),
            8443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert()));
    String id = await(vertx.deployVerticle(other));
    Fixture.Relay down = Fixture.Relay.start(vertx, other.listeners().get(443));
    Fixture.Relay silent = Fixture.Relay.start(vertx, other.listeners().get(8443));
    NetServer back = null;
    try {
      for (int i = 0; i < 20; i++) {
        assertThat(await(call(i % 2 == 0 ? h1 : h2, down, new RequestOptions().setURI("/"), null)).status())
            .isEqualTo(502);
      }
      String subject = "port 443: backend http://127.0.0.1:" + port;
      assertThat(lines).filteredOn(l -> l.contains(subject)).containsExactly("WARNING " + subject
          + " is not answering: Connection refused; answering 502 (504 when it accepts but does not answer in time)"
          + " until it does");

      back = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(port))
          .connectHandler(socket -> socket.handler(b -> socket.end(Buffer.buffer(
              "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"))));
      await(back.listen());
      assertThat(await(call(h1, down, new RequestOptions().setURI("/"), null)).status()).isEqualTo(200);
      assertThat(lines).filteredOn(l -> l.contains(subject)).hasSize(2)
          .last().asString().startsWith("INFO " + subject + " answers again (20 failures over ");

      // A client that gives up on a backend that has not answered yet: a reset, not an outage. It
      // gives up once the backend has the request (the proxy's exchange is under way), not after a
      // pause that a starved machine may not have used to get that far.
      int asked = 0;
      for (HttpClient client : List.of(h1, h2)) {
        HttpClientRequest request = await(client.request(new RequestOptions().setServer(silent.address())
            .setHost(NAME).setPort(8443).setURI("/slow")));
        request.setChunked(true).write("a");   // an upload that never ends: the client gives up on it
        int reached = ++asked;
        eventually(() -> assertThat(backend.seen).filteredOn(seen -> seen.uri().equals("/slow")).hasSize(reached));
        request.reset();
      }
      // Over HTTP/2 the proxy's exchange fails with the client's reset (StreamResetException), which was
      // taken for the backend's failure; over HTTP/1.1 the exchange just ends with the connection.
      eventually(() -> assertThat(lines).filteredOn(l -> l.contains("port 8443: client gone before")).isNotEmpty());
      assertThat(lines).filteredOn(l -> l.contains("port 8443: backend")).isEmpty();
    } finally {
      log.close();
      await(vertx.undeploy(id));
      await(down.server.close());
      await(silent.server.close());
      if (back != null) {
        await(back.close());
      }
    }
  }

  /**
   * A backend that refuses is a 502, one that does not answer within the response timeout a 504. The
   * timeout is 2 s, not less: the fast answer at the end must beat it on a starved machine too.
   */
  @Test
  @Timeout(value = 40, unit = TimeUnit.SECONDS)
  void backendDownGets502AndSilentBackendGets504() {
    NetServer closed = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
        .connectHandler(NetSocket::close);
    await(closed.listen());
    int deadPort = closed.actualPort();
    await(closed.close());
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(
            443, ServeTarget.parse("http://127.0.0.1:" + deadPort),
            8443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setBackendResponseTimeoutMillis(2_000));
    String id = await(vertx.deployVerticle(other));
    Fixture.Relay down = Fixture.Relay.start(vertx, other.listeners().get(443));
    Fixture.Relay slow = Fixture.Relay.start(vertx, other.listeners().get(8443));
    try {
      MeterRegistry registry = BackendRegistries.getDefaultNow();
      double before502 = count(registry, "502");
      Answer bad = await(call(h1, down, new RequestOptions().setURI("/"), null));
      assertThat(bad.status()).isEqualTo(502);
      assertThat(bad.body().toString()).startsWith("502 Bad Gateway");
      assertThat(bad.response().getHeader("content-type")).startsWith("text/plain");
      eventually(() -> assertThat(count(registry, "502") - before502).isEqualTo(1.0));

      Answer badH2 = await(call(h2, down, new RequestOptions().setURI("/"), null));
      assertThat(badH2.status()).isEqualTo(502);

      Future<WebSocket> upgrade = webSockets.connect(new WebSocketConnectOptions()
          .setHost(NAME).setPort(down.address().port()).setSsl(true).setURI("/ws"));
      assertThat(rejection(upgrade).getStatus()).isEqualTo(502);

      for (HttpClient client : List.of(h1, h2)) {
        Answer timeout = await(call(client, slow, new RequestOptions().setURI("/slow"), null));
        assertThat(timeout.status()).isEqualTo(504);
        assertThat(timeout.body().toString()).startsWith("504 Gateway Timeout");
        assertThat(timeout.response().getHeader("content-type")).startsWith("text/plain");
      }

      Future<WebSocket> silentUpgrade = webSockets.connect(new WebSocketConnectOptions()
          .setHost(NAME).setPort(slow.address().port()).setSsl(true).setURI("/ws-slow"));
      assertThat(rejection(silentUpgrade).getStatus()).isEqualTo(504);

      // A fast answer through the same short timeout still works.
      assertThat(await(call(h1, slow, new RequestOptions().setURI("/"), null)).status()).isEqualTo(200);
    } finally {
      await(vertx.undeploy(id));
      await(down.server.close());
      await(slow.server.close());
    }
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void withASocketDirectoryAPortIsServedOnAUnixSocketByEveryLoopAndTheSocketGoesWithIt(@TempDir Path dir)
      throws Exception {
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setSocketDir(dir)
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setEventLoops(2));
    String id = await(vertx.deployVerticle(other));
    Path socket = other.sockets().get(443);
    assertThat(socket).isNotNull();
    assertThat(socket.getParent()).isEqualTo(dir.toAbsolutePath());
    assertThat(other.listeners()).as("no TCP listener for a port on a socket").doesNotContainKey(443);
    Fixture.Relay relay = Fixture.Relay.start(vertx, io.vertx.core.net.SocketAddress.domainSocketAddress(socket.toString()));
    try {
      for (int i = 0; i < 4; i++) {
        HttpClient fresh = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust()));
        try {
          Answer answer = await(call(fresh, relay, new RequestOptions().setURI("/over-a-socket"), null));
          assertThat(answer.status()).isEqualTo(200);
        } finally {
          fresh.close();
        }
      }
      // The PROXY header's client address reached the backend as X-Forwarded-For, as over TCP.
      Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen.uri()).isEqualTo("/over-a-socket");
      assertThat(seen.headers().get("X-Forwarded-For")).isEqualTo(Fixture.CLIENT_IP);
    } finally {
      await(relay.server.close());
      await(vertx.undeploy(id));
    }
    assertThat(socket).as("the socket file is removed with the terminator").doesNotExist();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void updatedCertificateIsServedToNewConnections() throws Exception {
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setEventLoops(3));
    String id = await(vertx.deployVerticle(other));
    Fixture.Relay relay = Fixture.Relay.start(vertx, other.listeners().get(443));
    HttpClient first = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust()));
    HttpClient second = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true));
    try {
      Answer before = await(call(first, relay, new RequestOptions().setURI("/"), null));
      assertThat(serial(before)).isEqualTo(serialOf(fixture.leaf));

      DevCa.KeyAndChain renewed = fixture.ca.issue(List.of(NAME), Duration.ofDays(2));
      await(other.updateKeyCert(Fixture.keyCert(renewed)));

      Answer after = await(call(second, relay, new RequestOptions().setURI("/"), null));
      assertThat(after.status()).isEqualTo(200);
      assertThat(after.response().version()).isEqualTo(HttpVersion.HTTP_2);
      assertThat(serial(after)).isEqualTo(serialOf(renewed));
      // Every event loop's listener serves it (connections are handed to them in turn).
      for (int i = 0; i < 6; i++) {
        HttpClient fresh = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust()));
        try {
          assertThat(serial(await(call(fresh, relay, new RequestOptions().setURI("/"), null))))
              .isEqualTo(serialOf(renewed));
        } finally {
          fresh.close();
        }
      }
    } finally {
      first.close();
      second.close();
      await(vertx.undeploy(id));
      await(relay.server.close());
    }
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void aPortIsServedOnSeveralEventLoopsEachWithItsOwnBackendConnections() throws Exception {
    Set<Integer> backendConnections = java.util.concurrent.ConcurrentHashMap.newKeySet();
    HttpServer counting = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(request -> {
          backendConnections.add(request.connection().remoteAddress().port());
          request.response().end("ok");
        });
    await(counting.listen());
    int deploymentsBefore = vertx.deploymentIDs().size();
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + counting.actualPort())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setEventLoops(2));
    String id = await(vertx.deployVerticle(other));
    Fixture.Relay relay = Fixture.Relay.start(vertx, other.listeners().get(443));
    HttpClient oneConnectionEach = vertx.createHttpClient(new HttpClientOptions().setSsl(true)
        .setTrustOptions(fixture.trust()).setKeepAlive(false));
    try {
      for (int i = 0; i < 4; i++) {
        Answer answer = await(call(oneConnectionEach, relay, new RequestOptions().setURI("/"), null));
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.body().toString()).isEqualTo("ok");
      }
      // One request at a time: one event loop would have reused its one backend connection.
      assertThat(backendConnections).as("backend connections, one pool per event loop").hasSizeGreaterThanOrEqualTo(2);
    } finally {
      oneConnectionEach.close();
      await(vertx.undeploy(id));
      await(relay.server.close());
      await(counting.close());
    }
    assertThat(vertx.deploymentIDs()).as("the replicas stop with the terminator").doesNotContain(id)
        .hasSize(deploymentsBefore);
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void connectionWithoutProxyHeaderIsRefused() {
    HostPort listener = terminator.listeners().get(443);
    Future<Answer> direct = h1.request(new RequestOptions()
            .setServer(SocketAddress.inetSocketAddress(listener.port(), listener.host()))
            .setHost(NAME).setPort(443).setURI("/"))
        .compose(request -> request.send().compose(response -> response.body().map(b -> new Answer(response, b))));
    try {
      direct.await(15, TimeUnit.SECONDS);
      throw new AssertionError("a connection without a PROXY header was served");
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the refusal took too long", e);
    } catch (Exception expected) {
      assertThat(direct.failed()).isTrue();
    }
    assertThat(backend.seen).isEmpty();
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void webSocketRefusedByTheBackendReachesTheClient() {
    Future<WebSocket> upgrade = webSockets.connect(new WebSocketConnectOptions()
        .setHost(NAME).setPort(relay443.address().port()).setSsl(true).setURI("/ws-refuse?a=1"));
    assertThat(rejection(upgrade).getStatus()).isEqualTo(403);
  }

  /** The UpgradeRejectedException a refused WebSocket connect fails with. */
  static UpgradeRejectedException rejection(Future<WebSocket> upgrade) {
    try {
      upgrade.await(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      assertThat(e).isInstanceOf(UpgradeRejectedException.class);
      return (UpgradeRejectedException) e;
    }
    throw new AssertionError("the upgrade was not refused");
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void http10ClientGetsUnsizedResponsesOnlyUpToTheBufferCap() {
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setMaxHttp10BufferBytes(64 * 1024));
    String id = await(vertx.deployVerticle(other));
    Fixture.Relay relay = Fixture.Relay.start(vertx, other.listeners().get(443));
    HttpClient h10 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_1_0));
    try {
      Answer small = await(call(h10, relay, new RequestOptions().setURI("/chunked?bytes=50000"), null));
      assertThat(small.status()).isEqualTo(200);
      assertThat(Fixture.sha256Hex(small.body())).isEqualTo(Fixture.sha256Hex(Fixture.pattern(50000)));

      // Over the cap the proxy gives up buffering and answers 502 instead of holding the whole body.
      Answer big = await(call(h10, relay, new RequestOptions().setURI("/chunked?bytes=" + (4 * 1024 * 1024)), null));
      assertThat(big.status()).isEqualTo(502);
    } finally {
      h10.close();
      await(vertx.undeploy(id));
      await(relay.server.close());
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void curlOverHttp2AndHttp11() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/curl")), "curl is not installed");
    int port = relay443.address().port();
    List<String> common = List.of("curl", "-sS", "--max-time", "15", "--cacert", fixture.ca.caPemPath().toString(),
        "--resolve", NAME + ":" + port + ":127.0.0.1");

    List<String> h2Get = new ArrayList<>(common);
    h2Get.addAll(List.of("--http2", "-D", "-", "https://" + NAME + ":" + port + "/hop?x=1"));
    String out = run(h2Get);
    assertThat(out).startsWith("HTTP/2 200").contains("hop").doesNotContainIgnoringCase("keep-alive:");
    Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
    assertThat(seen).isNotNull();
    assertThat(seen.uri()).isEqualTo("/hop?x=1");
    assertThat(seen.headers().getAll("X-Forwarded-For")).containsExactly(CLIENT_IP);

    // Over 1 MiB, curl asks "Expect: 100-continue" on HTTP/1.1.
    Path upload = stateDir.resolve("upload.bin");
    Buffer data = Fixture.pattern(3 * 1024 * 1024 + 1);
    Files.write(upload, data.getBytes());
    List<String> h1Post = new ArrayList<>(common);
    h1Post.addAll(List.of("--http1.1", "--data-binary", "@" + upload, "https://" + NAME + ":" + port + "/sum"));
    assertThat(run(h1Post).trim()).isEqualTo(Fixture.sha256Hex(data) + " " + data.length());
  }

  private static String run(List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    return output;
  }

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void certificateFilesAreReloadedWhenTheyChange() throws Exception {
    Path cert = stateDir.resolve("node-cert.pem");
    Path key = stateDir.resolve("node-key.pem");
    Files.writeString(cert, fixture.leaf.chainPem());
    Files.writeString(key, fixture.leaf.keyPem());
    TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME))
        .setKeyCert(new PemKeyCertOptions().setCertPath(cert.toString()).setKeyPath(key.toString()))
        .setCertReloadCheckMillis(50));
    String id = await(vertx.deployVerticle(other));
    Fixture.Relay relay = Fixture.Relay.start(vertx, other.listeners().get(443));
    List<HttpClient> clients = new ArrayList<>();
    try {
      DevCa.KeyAndChain renewed = fixture.ca.issue(List.of(NAME), Duration.ofDays(3));
      Files.writeString(key, renewed.keyPem());
      Files.writeString(cert, renewed.chainPem());
      eventually(() -> {
        // A fresh client each time: a new connection, a new handshake.
        HttpClient client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust()));
        clients.add(client);
        Answer answer = await(call(client, relay, new RequestOptions().setURI("/"), null));
        try {
          assertThat(serial(answer)).isEqualTo(serialOf(renewed));
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
    } finally {
      clients.forEach(HttpClient::close);
      await(vertx.undeploy(id));
      await(relay.server.close());
    }
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void neverPassesTheAgentsLoopbackAddressOffAsTheClient() throws Exception {
    // Vert.x 5.0.10 loses the PROXY source when HTTP-server metrics are on (FunnelVertx.options()).
    // Its own registry name: closing it must not close the default registry the other tests read.
    VertxOptions options = FunnelVertx.options();
    ((MicrometerMetricsOptions) options.getMetricsOptions()).setRegistryName("terminator-lost-client-test");
    Vertx metered = Vertx.builder().with(options).build();
    try {
      TerminatorVerticle other = new TerminatorVerticle(new TerminatorOptions()
          .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
          .setServerNames(Set.of(NAME))
          .setKeyCert(fixture.keyCert()));
      await(metered.deployVerticle(other));
      Fixture.Relay relay = Fixture.Relay.start(metered, other.listeners().get(443));
      assertThat(await(call(h1, relay, new RequestOptions().setURI("/"), null)).status()).isEqualTo(200);
      Fixture.Seen seen = backend.seen.poll(5, TimeUnit.SECONDS);
      assertThat(seen).isNotNull();
      String forwardedFor = seen.headers().get("X-Forwarded-For");
      assertThat(forwardedFor).isIn(CLIENT_IP, "unknown");
      assertThat(seen.headers().get("Forwarded")).startsWith("for=" + forwardedFor + ";");
    } finally {
      await(metered.close());
    }
  }

  private static java.math.BigInteger serial(Answer answer) throws Exception {
    return ((X509Certificate) answer.response().request().connection().peerCertificates().get(0)).getSerialNumber();
  }

  private static java.math.BigInteger serialOf(DevCa.KeyAndChain pair) {
    return DevCa.Pem.certificates(pair.chainPem()).get(0).getSerialNumber();
  }
}
