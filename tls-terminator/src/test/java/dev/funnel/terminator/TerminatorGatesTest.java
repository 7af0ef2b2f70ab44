package dev.funnel.terminator;

import static dev.funnel.terminator.Fixture.NAME;
import static dev.funnel.terminator.Fixture.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServeFlags;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped gates ({@code GateChain.standard()}) in the real terminator, both sides real: TLS,
 * the PROXY header (client 203.0.113.7, {@link Fixture.Relay}), Vert.x Web routes, vertx-http-proxy
 * and a backend that answers the SHA-256 of the body it got. HTTP/1.1 and HTTP/2.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TerminatorGatesTest {

  static final String SECRET = "It's a Secret to Everybody";

  @TempDir
  static Path tmp;

  static Vertx vertx;
  static Fixture.Backend backend;
  static TerminatorVerticle terminator;
  static Fixture.Relay relay;
  static HttpClient h1;
  static HttpClient h2;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.builder().with(FunnelVertx.nodeOptions()).build();
    Fixture fixture = new Fixture(tmp.resolve("state"));
    backend = Fixture.Backend.start(vertx, false, null);
    Path secret = Files.writeString(tmp.resolve("gh.secret"), SECRET + "\n");
    String http = "http://127.0.0.1:" + backend.port();
    ServeConfig config = ServeFlags.parse(List.of(
        "443:/hooks=" + http + "/sum",
        "443:/up=" + http + "/sum",
        "443:/closed=" + http,
        "443:/open=" + http),
        Map.of("verify", List.of("443:/hooks=github:" + secret),
            "max-body", List.of("443:/up=1000"),
            "deny-cidr", List.of("443:/closed=203.0.113.0/24"),
            "allow-cidr", List.of("443:/open=203.0.113.7")));
    terminator = new TerminatorVerticle(new TerminatorOptions()
        .setRoutes(config.ports())
        .setServerNames(Set.of(NAME))
        .setKeyCert(fixture.keyCert())
        .setEventLoops(2));
    await(vertx.deployVerticle(terminator));
    relay = Fixture.Relay.start(vertx, terminator.listeners().get(443));
    h1 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_1_1).setUseAlpn(true));
    h2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true));
  }

  @AfterAll
  static void stop() {
    await(vertx.close());
  }

  @BeforeEach
  void clearSeen() {
    backend.seen.clear();
  }

  /** Status and body of one request; {@code chunks} sent one write each, without a Content-Length. */
  static String send(HttpClient client, String uri, List<Buffer> chunks, String... headers) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setURI(uri).setServer(relay.address())
        .setHost(NAME).setPort(443);
    for (int i = 0; i < headers.length; i += 2) {
      options.addHeader(headers[i], headers[i + 1]);
    }
    return await(client.request(options).compose(req -> {
      req.setChunked(true);
      chunks.forEach(req::write);
      return req.end().compose(v -> req.response())
          .compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b.toString(StandardCharsets.UTF_8).strip()));
    }));
  }

  static String sha256Hex(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  static String sign(byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
  }

  @Test
  void aSignedDeliveryReachesTheBackendByteForByteAndABadOneNever() throws Exception {
    byte[] body = new byte[200_000];
    new java.util.Random(7).nextBytes(body);
    Buffer all = Buffer.buffer(body);
    List<Buffer> pieces = List.of(all.getBuffer(0, 1), all.getBuffer(1, 70_000), all.getBuffer(70_000, body.length));
    for (HttpClient client : List.of(h1, h2)) {
      assertThat(send(client, "/hooks", pieces, "X-Hub-Signature-256", sign(body)))
          .isEqualTo("200 " + sha256Hex(body) + " " + body.length);
      assertThat(backend.seen.poll(5, TimeUnit.SECONDS).uri()).isEqualTo("/sum");
      byte[] tampered = body.clone();
      tampered[100_000] ^= 1;
      assertThat(send(client, "/hooks", List.of(Buffer.buffer(tampered)), "X-Hub-Signature-256", sign(body)))
          .startsWith("401 ");
      assertThat(send(client, "/hooks", pieces)).startsWith("401 ");
    }
    assertThat(backend.seen).isEmpty();
    assertThat(terminator.gateTallies().get("443 /hooks")).containsEntry("verify/allowed", 2L)
        .containsEntry("verify/bad_signature", 2L).containsEntry("verify/missing_signature", 2L);
  }

  @Test
  void aBodyOverTheCapIsRefusedWith413() {
    for (HttpClient client : List.of(h1, h2)) {
      String proto = client == h1 ? "HTTP/1.1" : "HTTP/2";
      // with a Content-Length: refused before a byte is read
      assertThat(sendWithLength(client, "/up", 1000)).as(proto).startsWith("200 ").endsWith(" 1000");
      assertThat(sendWithLength(client, "/up", 1001)).as(proto).startsWith("413 ");
    }
    // without one (HTTP/1.1 chunked, HTTP/2 DATA frames): counted as it streams through the proxy,
    // 413 once over
    for (HttpClient client : List.of(h1, h2)) {
      String proto = client == h1 ? "HTTP/1.1" : "HTTP/2";
      assertThat(send(client, "/up", List.of(Buffer.buffer("a".repeat(600)), Buffer.buffer("b".repeat(400)))))
          .as(proto).startsWith("200 ").endsWith(" 1000");
      assertThat(send(client, "/up", List.of(Buffer.buffer("a".repeat(600)), Buffer.buffer("b".repeat(600)))))
          .as(proto).startsWith("413 ");
    }
    assertThat(terminator.gateTallies().get("443 /up")).containsEntry("max-body/too_large", 4L)
        .containsEntry("max-body/allowed", 6L);
  }

  static String sendWithLength(HttpClient client, String uri, int length) {
    return await(client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI(uri)
        .setServer(relay.address()).setHost(NAME).setPort(443)).compose(req -> req.send(Buffer.buffer("z".repeat(length)))
        .compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b.toString().strip()))));
  }

  @Test
  void cidrListsSeeTheProxyHeadersClient() {
    for (HttpClient client : List.of(h1, h2)) {
      assertThat(send(client, "/closed/x", List.of(Buffer.buffer("x")), "X-Forwarded-For", "127.0.0.1"))
          .startsWith("403 ");
      assertThat(send(client, "/open/x", List.of(Buffer.buffer("x")))).startsWith("200 ");
    }
    assertThat(terminator.gateTallies()).containsEntry("443 /closed", Map.of("cidr/denied", 2L))
        .containsEntry("443 /open", Map.of("cidr/allowed", 2L));
  }
}
