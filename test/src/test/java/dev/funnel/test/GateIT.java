package dev.funnel.test;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The node's gates through real processes: {@code funnel server}, {@code funnel node} with one
 * route per gate on public port 443, curl as the client through the frontend (its source address
 * chosen with {@code --interface}), and a {@link HashingBackend} that records what reached it, so
 * every refusal is also checked as "the backend saw nothing" and every pass as "the body arrived
 * intact". The client address the node judges is the one the frontend accepted (the offer).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GateIT {

  static final String DOMAIN = "funnel.localhost";
  static final String NAME = "web.demo." + DOMAIN;
  static final String GITHUB_SECRET = "It's a Secret to Everybody";
  static final String STRIPE_SECRET = "whsec_test_0123456789abcdef";
  static final String SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";

  private Path dir;
  private Path state;
  private Path nodeState;
  private Path logs;
  private Vertx vertx;
  private HashingBackend backend;
  private FunnelProcess server;
  private FunnelProcess node;
  private int public443;

  @BeforeAll
  void start() throws Exception {
    dir = TempDirs.create("funnel-gates");
    state = dir.resolve("state");
    nodeState = dir.resolve("node-state");
    logs = Path.of("target", "e2e-logs", "gates");
    Path github = Files.writeString(dir.resolve("github.secret"), GITHUB_SECRET + "\n");
    Path stripe = Files.writeString(dir.resolve("stripe.secret"), STRIPE_SECRET + "\n");
    Path slack = Files.writeString(dir.resolve("slack.secret"), SLACK_SECRET + "\n");
    vertx = Vertx.vertx();
    backend = new HashingBackend(vertx);

    server = FunnelProcess.start("server", logs, List.of(), "server", "--state", state.toString(),
        "--domain", DOMAIN, "--public", "443=127.0.0.1:0", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0");
    public443 = Integer.parseInt(server.fromReadyLine("public 443 on 127\\.0\\.0\\.1:(\\d+)"));
    int gateway = Integer.parseInt(server.fromReadyLine("gateway 127\\.0\\.0\\.1:(\\d+)"));
    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443");
    String authKey = admin("key", "add", "--tailnet", "demo").lastLine().trim();

    List<String> args = new ArrayList<>(List.of("node", "--server", "127.0.0.1:" + gateway, "--authkey", authKey,
        "--hostname", "web", "--ca", caPem().toString(), "--state", nodeState.toString()));
    for (String path : List.of("/open", "/private", "/limited", "/upload", "/hooks/github", "/hooks/stripe",
        "/hooks/slack")) {
      // The target keeps the prefix, so the backend's record tells the routes apart.
      args.addAll(List.of("--funnel", "443:" + path + "=http://127.0.0.1:" + backend.port() + path));
    }
    args.addAll(List.of("--allow-cidr", "443:/private=127.0.0.1/32",
        "--rate-limit", "443:/limited=20/s",
        "--max-body", "443:/upload=1k",
        "--verify", "443:/hooks/github=github:" + github,
        "--verify", "443:/hooks/stripe=stripe:" + stripe,
        "--verify", "443:/hooks/slack=slack:" + slack));
    node = FunnelProcess.start("node", logs, List.of("-Xmx256m"), args.toArray(String[]::new));
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {node, server, backend}) {
      if (c != null) {
        c.close();
      }
    }
    if (vertx != null) {
      vertx.close().await(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void anAllowListDeniesOtherClientAddressesThroughTheFrontend() throws Exception {
    Exec other = curl(List.of("--interface", "127.0.0.2", "-o", "/dev/null", "-w", "%{http_code}",
        "https://" + NAME + "/private/a"));
    assertThat(other.output()).as("from 127.0.0.2").isEqualTo("403");
    assertThat(backend.hits("/private")).as("a denied request never reaches the backend").isEmpty();

    Exec allowed = curl(List.of("--interface", "127.0.0.1", "-w", "\n%{http_code}", "https://" + NAME + "/private/b"));
    assertThat(allowed.output()).as("from 127.0.0.1").isEqualTo(HashingBackend.sha256Hex(new byte[0]) + " 0\n200");
    assertThat(backend.hits("/private")).extracting(HashingBackend.Hit::path).containsExactly("/private/b");
  }

  /**
   * 20/s: each client address's bucket starts with 20 tokens and is refilled at the end of each
   * second counted from its first request (see RateLimiter). So from a fresh address the first 20
   * requests always pass, whatever the timing, and the 21st is refused if it comes within that
   * second. A loaded machine may be slower than that: then the batch is repeated from another fresh
   * address (bounded), and what must hold every time is that the first 20 pass and any refusal is a
   * 429 with a Retry-After of at least one second.
   */
  @Test
  void theTwentyFirstRequestInASecondGets429WithRetryAfter() throws Exception {
    boolean refused = false;
    for (int attempt = 0; attempt < 5 && !refused; attempt++) {
      String source = "127.0.0." + (10 + attempt);
      List<String> args = new ArrayList<>(List.of("--interface", source, "-w",
          "%{http_code} [%header{retry-after}]\\n"));
      for (int i = 0; i < 40; i++) {
        // curl's -o applies to one URL: one per URL, so only the -w lines are printed.
        args.addAll(List.of("-o", "/dev/null", "https://" + NAME + "/limited/" + attempt + "/" + i));
      }
      Exec batch = curl(args);
      List<String> lines = batch.output().lines().toList();
      assertThat(lines).as(batch.output()).hasSize(40);
      assertThat(lines.subList(0, 20)).as("a fresh bucket holds 20: " + batch.output()).allMatch(l -> l.startsWith("200 "));
      for (String line : lines) {
        assertThat(line).as(batch.output()).matches("200 \\[\\]|429 \\[[1-9][0-9]*\\]");
      }
      long ok = lines.stream().filter(l -> l.startsWith("200")).count();
      long limited = lines.size() - ok;
      assertThat(backend.hits("/limited/" + attempt + "/")).as("only the passed ones reach the backend").hasSize((int) ok);
      refused = limited > 0;
    }
    assertThat(refused).as("no batch of 40 back-to-back requests met the limit within a second in 5 tries").isTrue();
  }

  @Test
  void aBodyOverTheCapGets413AndASmallOnePassesIntact() throws Exception {
    byte[] big = bytes(2048, 7);
    Exec tooBig = post("/upload/big", big, List.of());
    assertThat(tooBig.output()).as("2 KiB over a 1k cap").endsWith("\n413");
    assertThat(backend.hits("/upload")).isEmpty();

    byte[] small = bytes(512, 11);
    Exec fits = post("/upload/small", small, List.of());
    assertThat(fits.output()).isEqualTo(HashingBackend.sha256Hex(small) + " 512\n200");
    assertThat(backend.hits("/upload")).containsExactly(new HashingBackend.Hit("POST", "/upload/small",
        HashingBackend.sha256Hex(small), 512));
  }

  @Test
  void githubDeliveries() throws Exception {
    byte[] body = "{\"zen\":\"Design for failure.\",\"hook_id\":1,\"action\":\"opened\"}".getBytes(StandardCharsets.UTF_8);
    String good = "sha256=" + hmac(GITHUB_SECRET, body);
    assertPassed("/hooks/github/ok", body, List.of("X-GitHub-Event: ping", "X-Hub-Signature-256: " + good));

    byte[] tampered = "{\"zen\":\"Design for failure.\",\"hook_id\":2,\"action\":\"opened\"}".getBytes(StandardCharsets.UTF_8);
    assertRefused("/hooks/github/tampered", tampered, List.of("X-Hub-Signature-256: " + good));
    assertRefused("/hooks/github/wrong-secret", body,
        List.of("X-Hub-Signature-256: sha256=" + hmac("not the secret", body)));
    assertRefused("/hooks/github/unsigned", body, List.of());
  }

  @Test
  void stripeDeliveries() throws Exception {
    byte[] body = "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"payment_intent.succeeded\"}".getBytes(StandardCharsets.UTF_8);
    long now = System.currentTimeMillis() / 1000;
    assertPassed("/hooks/stripe/ok", body, List.of("Stripe-Signature: " + stripe(STRIPE_SECRET, now, body)));

    byte[] tampered = "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"payment_intent.failed\"}".getBytes(StandardCharsets.UTF_8);
    assertRefused("/hooks/stripe/tampered", tampered, List.of("Stripe-Signature: " + stripe(STRIPE_SECRET, now, body)));
    assertRefused("/hooks/stripe/wrong-secret", body, List.of("Stripe-Signature: " + stripe("whsec_other", now, body)));
    assertRefused("/hooks/stripe/stale", body, List.of("Stripe-Signature: " + stripe(STRIPE_SECRET, now - 3600, body)));
  }

  @Test
  void slackDeliveries() throws Exception {
    byte[] body = "token=x&team_id=T1&command=%2Fweather&text=94070".getBytes(StandardCharsets.UTF_8);
    long now = System.currentTimeMillis() / 1000;
    assertPassed("/hooks/slack/ok", body, slack(SLACK_SECRET, now, body));

    byte[] tampered = "token=x&team_id=T1&command=%2Fweather&text=10001".getBytes(StandardCharsets.UTF_8);
    List<String> signedForOther = slack(SLACK_SECRET, now, body);
    assertRefused("/hooks/slack/tampered", tampered, signedForOther);
    assertRefused("/hooks/slack/wrong-secret", body, slack("not the secret", now, body));
    assertRefused("/hooks/slack/stale", body, slack(SLACK_SECRET, now - 3600, body));
  }

  @Test
  void serveGateTakesEffectOnTheNextRequest() throws Exception {
    assertThat(curl(List.of("-o", "/dev/null", "-w", "%{http_code}", "https://" + NAME + "/open/before")).output())
        .isEqualTo("200");
    assertThat(backend.hits("/open")).hasSize(1);

    FunnelProcess.Result gate = serve("gate", "443:/open", "--deny-cidr", "127.0.0.1/32");
    assertThat(gate.exit()).as(gate.all()).isZero();
    assertThat(curl(List.of("--interface", "127.0.0.1", "-o", "/dev/null", "-w", "%{http_code}",
        "https://" + NAME + "/open/after")).output()).as("the next request, same node process").isEqualTo("403");
    assertThat(backend.hits("/open")).extracting(HashingBackend.Hit::path).containsExactly("/open/before");
    assertThat(node.isAlive()).isTrue();

    FunnelProcess.Result list = serve("list");
    assertThat(list.exit()).as(list.all()).isZero();
    assertThat(list.stdout()).as(list.all())
        .anyMatch(l -> l.matches("443 +https://" + Pattern.quote(NAME) + "/open +http://\\S+ +.*deny-cidr 127\\.0\\.0\\.1/32.*"))
        .anyMatch(l -> l.startsWith("gate decisions since the node started"))
        .anyMatch(l -> l.contains("443 /open") && l.contains("cidr/denied 1"));
  }

  private void assertPassed(String path, byte[] body, List<String> headers) throws Exception {
    Exec r = post(path, body, headers);
    assertThat(r.output()).as(path).isEqualTo(HashingBackend.sha256Hex(body) + " " + body.length + "\n200");
    assertThat(backend.hits(path)).as("the backend got the body byte for byte")
        .containsExactly(new HashingBackend.Hit("POST", path, HashingBackend.sha256Hex(body), body.length));
  }

  private void assertRefused(String path, byte[] body, List<String> headers) throws Exception {
    Exec r = post(path, body, headers);
    assertThat(r.output()).as(path + ": " + r.output()).endsWith("\n401");
    assertThat(backend.hits(path)).as(path + " never reaches the backend").isEmpty();
  }

  private Exec post(String path, byte[] body, List<String> headers) throws Exception {
    Path file = Files.createTempFile(dir, "body", ".bin");
    Files.write(file, body);
    List<String> args = new ArrayList<>(List.of("-X", "POST", "--data-binary", "@" + file,
        "-H", "Content-Type: application/octet-stream", "-w", "\n%{http_code}"));
    for (String h : headers) {
      args.addAll(List.of("-H", h));
    }
    args.add("https://" + NAME + path);
    return curl(args);
  }

  private static String stripe(String secret, long t, byte[] body) throws Exception {
    return "t=" + t + ",v1=" + hmac(secret, concat((t + ".").getBytes(StandardCharsets.US_ASCII), body));
  }

  private static List<String> slack(String secret, long t, byte[] body) throws Exception {
    return List.of("X-Slack-Request-Timestamp: " + t,
        "X-Slack-Signature: v0=" + hmac(secret, concat(("v0:" + t + ":").getBytes(StandardCharsets.US_ASCII), body)));
  }

  private static String hmac(String secret, byte[] data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal(data));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  private Exec curl(List<String> args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "30", "--cacert", caPem().toString(),
        "--connect-to", NAME + ":443:127.0.0.1:" + public443));
    command.addAll(args);
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
