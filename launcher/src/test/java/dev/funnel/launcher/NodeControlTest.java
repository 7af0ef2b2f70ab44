package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's local control ({@link NodeControl}) over real HTTP on 127.0.0.1, with a fake serve
 * config behind it, and {@code funnel node serve list|add|rm} driven through picocli against it.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NodeControlTest {

  @TempDir
  Path state;

  private Vertx vertx;
  private FakeServe serve;
  private NodeControl control;
  private String url;
  private String token;
  private final HttpClient http = HttpClient.newHttpClient();

  /** A serve config in memory; records each change it is asked for. */
  static final class FakeServe implements ServeControl {
    ServeConfig config = ServeConfig.of(Map.of(443, ServeTarget.parse("tcp://127.0.0.1:9443")));
    final List<String> changes = new CopyOnWriteArrayList<>();
    volatile RuntimeException failWith;
    volatile Map<Integer, String> refused = Map.of();

    @Override
    public Map<Integer, String> refused() {
      return refused;
    }

    @Override
    public io.vertx.core.json.JsonObject status(boolean probe) {
      return new io.vertx.core.json.JsonObject().put("fqdn", fqdn()).put("ok", true).put("probed", probe);
    }

    @Override
    public String fqdn() {
      return "web.demo.funnel.localhost";
    }

    @Override
    public synchronized ServeConfig serve() {
      return config;
    }

    @Override
    public synchronized ServeConfig putRoute(int port, ServeRoute route) {
      if (failWith != null) {
        throw failWith;
      }
      config = valid(() -> config.withRoute(port, route));
      changes.add("put " + port + " " + route.path() + " " + route.target()
          + (route.policy().isEmpty() ? "" : " " + route.policy().describe()));
      return config;
    }

    @Override
    public synchronized ServeConfig putPolicy(int port, String path, GatePolicy policy) {
      ServePort p = config.port(port).orElseThrow(() -> new ServeControl.Failure(404, "NOT_FUNNELLED", "no port " + port));
      config = valid(() -> config.with(path == null ? p.withPolicy(policy)
          : p.withRoute(p.route(path).orElseThrow().withPolicy(policy))));
      changes.add("gate " + port + " " + path + " " + policy.describe());
      return config;
    }

    @Override
    public synchronized ServeConfig remove(int port, String path) {
      if (config.port(port).isEmpty() || (path != null && config.port(port).get().route(path).isEmpty())) {
        throw new ServeControl.Failure(404, "NOT_FUNNELLED", "this node does not funnel port " + port
            + (path == null ? "" : " path " + path));
      }
      config = path == null ? config.withoutPort(port) : config.withoutRoute(port, path);
      changes.add("rm " + port + (path == null ? "" : " " + path));
      return config;
    }

    private static ServeConfig valid(java.util.function.Supplier<ServeConfig> build) {
      try {
        return build.get();
      } catch (IllegalArgumentException e) {
        throw new ServeControl.Failure(400, "BAD_REQUEST", e.getMessage());
      }
    }

    @Override
    public String renewCertificate() {
      throw new ServeControl.Failure(409, "NO_ACME", "this node does not use ACME (start it with --acme)");
    }
  }

  record Run(int exit, String out, String err) {
  }

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    serve = new FakeServe();
    control = new NodeControl(state, serve);
    vertx.deployVerticle(control).await(10, TimeUnit.SECONDS);
    url = Files.readString(state.resolve(NodeControl.URL_FILE));
    token = Files.readString(state.resolve(NodeControl.TOKEN_FILE));
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void writesItsUrlAndAFreshTokenOwnerOnlyAndRemovesThemOnStop() throws Exception {
    assertThat(url).isEqualTo("http://127.0.0.1:" + control.actualPort());
    assertThat(token).hasSizeGreaterThanOrEqualTo(40).matches("[A-Za-z0-9_-]+");
    for (String file : List.of(NodeControl.URL_FILE, NodeControl.TOKEN_FILE)) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(file))))
          .as(file).isEqualTo("rw-------");
    }
    NodeControl second = new NodeControl(state.resolve("other"), serve);
    vertx.deployVerticle(second).await(10, TimeUnit.SECONDS);
    assertThat(Files.readString(state.resolve("other").resolve(NodeControl.TOKEN_FILE))).isNotEqualTo(token);

    vertx.close().await(10, TimeUnit.SECONDS);
    assertThat(state.resolve(NodeControl.URL_FILE)).doesNotExist();
    assertThat(state.resolve(NodeControl.TOKEN_FILE)).doesNotExist();
    vertx = Vertx.vertx();
    Run after = serve("list");
    assertThat(after.exit()).isEqualTo(1);
    assertThat(after.err()).contains("no running node uses " + state);
  }

  @Test
  void everyCallNeedsTheToken() throws Exception {
    assertThat(call("GET", "/v1/serve", null, null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/v1/serve", null, "wrong").statusCode()).isEqualTo(401);
    HttpResponse<String> rm = call("DELETE", "/v1/serve/443", null, token + "x");
    assertThat(rm.statusCode()).isEqualTo(401);
    assertThat(new JsonObject(rm.body()).getJsonObject("error").getString("code")).isEqualTo("UNAUTHORIZED");
    assertThat(serve.changes).isEmpty();
    assertThat(call("GET", "/v1/serve", null, token).statusCode()).isEqualTo(200);
  }

  @Test
  void listsAddsAndRemoves() throws Exception {
    HttpResponse<String> list = call("GET", "/v1/serve", null, token);
    assertThat(new JsonObject(list.body()).getJsonArray("serve")).isEqualTo(new JsonArray()
        .add(new JsonObject().put("port", 443).put("path", "/").put("target", "tcp://127.0.0.1:9443")));
    assertThat(new JsonObject(list.body()).getString("fqdn")).isEqualTo("web.demo.funnel.localhost");
    assertThat(new JsonObject(list.body()).getJsonObject("refused")).isEqualTo(new JsonObject());

    HttpResponse<String> put = call("PUT", "/v1/serve/8443", "{\"target\":\"http://127.0.0.1:3000/app\"}", token);
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    assertThat(new JsonObject(put.body()).getJsonArray("serve")).hasSize(2);

    HttpResponse<String> rm = call("DELETE", "/v1/serve/443", null, token);
    assertThat(rm.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(rm.body()).getJsonArray("serve").getJsonObject(0).getInteger("port")).isEqualTo(8443);

    HttpResponse<String> again = call("DELETE", "/v1/serve/443", null, token);
    assertThat(again.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(again.body()).getJsonObject("error").getString("code")).isEqualTo("NOT_FUNNELLED");
    assertThat(serve.changes).containsExactly("put 8443 / http://127.0.0.1:3000/app", "rm 443");
  }

  @Test
  void badRequestsAreRefusedWithAReason() throws Exception {
    Map<String, String[]> cases = Map.ofEntries(
        Map.entry("port not a Funnel port", new String[] {"PUT", "/v1/serve/80", "{\"target\":\"tcp://127.0.0.1:1\"}"}),
        Map.entry("port not a number", new String[] {"DELETE", "/v1/serve/x", null}),
        Map.entry("not JSON", new String[] {"PUT", "/v1/serve/443", "tcp://127.0.0.1:1"}),
        Map.entry("unknown field", new String[] {"PUT", "/v1/serve/443", "{\"target\":\"tcp://127.0.0.1:1\",\"x\":1}"}),
        Map.entry("wrong type", new String[] {"PUT", "/v1/serve/443", "{\"target\":443}"}),
        Map.entry("bad target", new String[] {"PUT", "/v1/serve/443", "{\"target\":\"ftp://127.0.0.1:1\"}"}),
        Map.entry("no body", new String[] {"PUT", "/v1/serve/443", null}),
        Map.entry("bad path", new String[] {"PUT", "/v1/serve/443", "{\"target\":\"text:x\",\"path\":\"/a/../b\"}"}),
        Map.entry("policy not an object", new String[] {"PUT", "/v1/serve/443", "{\"target\":\"text:x\",\"policy\":\"x\"}"}),
        Map.entry("unknown rule", new String[] {"PUT", "/v1/serve/443", "{\"policy\":{\"allow-ip\":\"1.2.3.4\"}}"}),
        Map.entry("bad rule value", new String[] {"PUT", "/v1/serve/443", "{\"policy\":{\"rate-limit\":\"fast\"}}"}),
        Map.entry("neither target nor policy", new String[] {"PUT", "/v1/serve/443", "{\"path\":\"/x\"}"}),
        Map.entry("bad path to remove", new String[] {"DELETE", "/v1/serve/443?path=x", null}));
    for (Map.Entry<String, String[]> c : cases.entrySet()) {
      HttpResponse<String> r = call(c.getValue()[0], c.getValue()[1], c.getValue()[2], token);
      assertThat(r.statusCode()).as(c.getKey()).isEqualTo(400);
      assertThat(new JsonObject(r.body()).getJsonObject("error").getString("code")).as(c.getKey())
          .isEqualTo("BAD_REQUEST");
    }
    HttpResponse<String> big = call("PUT", "/v1/serve/443",
        "{\"target\":\"tcp://127.0.0.1:1/" + "a".repeat(NodeControl.MAX_BODY_BYTES) + "\"}", token);
    assertThat(big.statusCode()).isEqualTo(413);
    assertThat(call("POST", "/v1/serve", "{}", token).statusCode()).isEqualTo(404);
    assertThat(serve.changes).isEmpty();
  }

  @Test
  void theServeCommandsTalkToTheControl() {
    Run list = serve("list");
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(list.out().lines().toList()).hasSize(2);
    assertThat(list.out().lines().toList().get(1))
        .matches("443 +https://web\\.demo\\.funnel\\.localhost/ +tcp://127\\.0\\.0\\.1:9443 +- +yes");

    Run add = serve("add", "8443=tcp://127.0.0.1:9444");
    assertThat(add.exit()).as(add.err()).isZero();
    assertThat(add.out()).startsWith("funnelling public port 8443 → tcp://127.0.0.1:9444\n")
        .contains("https://web.demo.funnel.localhost:8443/");

    Run rm = serve("rm", "443");
    assertThat(rm.exit()).as(rm.err()).isZero();
    assertThat(rm.out()).startsWith("stopped funnelling public port 443\n").doesNotContain("9443");

    Run json = serve("list", "--json");
    assertThat(new JsonObject(json.out()).getJsonArray("serve")).hasSize(1);

    Run missing = serve("rm", "443");
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).isEqualTo("funnel node serve: this node does not funnel port 443 (NOT_FUNNELLED)\n");

    serve.failWith = new ServeControl.Failure(502, "NOT_CONFIRMED", "the gateway did not confirm");
    Run unconfirmed = serve("add", "443=tcp://127.0.0.1:9443");
    assertThat(unconfirmed.exit()).isEqualTo(1);
    assertThat(unconfirmed.err()).contains("the gateway did not confirm (NOT_CONFIRMED)");
    assertThat(serve.changes).containsExactly("put 8443 / tcp://127.0.0.1:9444", "rm 443");
  }

  @Test
  void routesAndGatesThroughTheServeCommands() {
    Run root = serve("add", "10000=file:///srv/site");
    assertThat(root.exit()).as(root.err()).isZero();
    Run api = serve("add", "10000:/api/=http://127.0.0.1:3000", "--rate-limit", "20/s", "--allow-cidr", "10.0.0.0/8",
        "--allow-cidr", "192.0.2.0/24");
    assertThat(api.exit()).as(api.err()).isZero();
    assertThat(api.out()).startsWith("funnelling public port 10000 path /api → http://127.0.0.1:3000\n");
    Run gate = serve("gate", "10000", "--deny-cidr", "10.9.0.0/16");
    assertThat(gate.exit()).as(gate.err()).isZero();

    List<String> lines = serve("list").out().lines().toList();
    assertThat(lines).anyMatch(l -> l.matches("10000 +https://web\\.demo\\.funnel\\.localhost:10000/ +file:///srv/site"
        + " +deny-cidr 10\\.9\\.0\\.0/16 +yes"));
    assertThat(lines).anyMatch(l -> l.matches("10000 +https://web\\.demo\\.funnel\\.localhost:10000/api +http://127\\.0\\.0\\.1:3000"
        + " +deny-cidr 10\\.9\\.0\\.0/16; allow-cidr 10\\.0\\.0\\.0/8,192\\.0\\.2\\.0/24; rate-limit 20/s +yes"));

    Run stream = serve("add", "10000:/raw=tcp://127.0.0.1:9");
    assertThat(stream.exit()).isEqualTo(1);
    assertThat(stream.err()).contains("takes a whole port").contains("(BAD_REQUEST)");

    Run rm = serve("rm", "10000:/api");
    assertThat(rm.exit()).as(rm.err()).isZero();
    assertThat(rm.out()).startsWith("stopped funnelling public port 10000 path /api\n");
    assertThat(serve("rm", "10000:/api").exit()).isEqualTo(1);
    assertThat(serve.changes).containsExactly("put 10000 / file:///srv/site",
        "put 10000 /api http://127.0.0.1:3000 allow-cidr 10.0.0.0/8,192.0.2.0/24; rate-limit 20/s",
        "gate 10000 null deny-cidr 10.9.0.0/16", "rm 10000 /api");
  }

  @Test
  void aPortTheServerDoesNotRouteIsSaidSoByServeAddAndList() {
    serve.refused = Map.of(8443, "refused by the tailnet's policy: tailnet demo does not allow port 8443 (allowed: 443)");
    Run add = serve("add", "8443=tcp://127.0.0.1:9444");
    assertThat(add.exit()).as(add.err()).isZero();
    assertThat(add.out()).startsWith("funnelling public port 8443 → tcp://127.0.0.1:9444 on this node, but the server"
        + " does not route it: refused by the tailnet's policy: tailnet demo does not allow port 8443 (allowed: 443)\n");
    Run list = serve("list");
    assertThat(list.out()).containsPattern("8443 +https://web\\.demo\\.funnel\\.localhost:8443/ +tcp://127\\.0\\.0\\.1:9444"
        + " +- +no: refused by the tailnet's policy");
  }

  @Test
  void statusComesFromTheControlAndSaysWhetherToProbe() throws Exception {
    HttpResponse<String> probed = call("GET", "/v1/status", null, token);
    assertThat(probed.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(probed.body()).getBoolean("probed")).isTrue();
    assertThat(new JsonObject(call("GET", "/v1/status?probe=false", null, token).body()).getBoolean("probed")).isFalse();
    assertThat(call("GET", "/v1/status", null, null).statusCode()).isEqualTo(401);
    Run json = run("status", "--state", state.toString(), "--json", "--no-probe");
    assertThat(json.exit()).as(json.err()).isZero();
    assertThat(new JsonObject(json.out()).getBoolean("probed")).isFalse();
  }

  @Test
  void usageErrorsNeverReachTheControl() {
    assertThat(serve("add", "80=tcp://127.0.0.1:1").exit()).isEqualTo(2);
    assertThat(serve("add", "443").exit()).isEqualTo(2);
    assertThat(serve("add", "443=ftp://x:1").exit()).isEqualTo(2);
    assertThat(serve("rm", "22").exit()).isEqualTo(2);
    for (String[] bad : List.of(
        new String[] {"add", "443:api=http://127.0.0.1:1"},
        new String[] {"add", "443:/a/../b=http://127.0.0.1:1"},
        new String[] {"add", "443=file://relative"},
        new String[] {"add", "443=text:x", "--rate-limit", "20"},
        new String[] {"add", "443=text:x", "--verify", "gitlab:/x"},
        new String[] {"gate", "443", "--allow-cidr", "10.0.0.1/8"},
        new String[] {"gate", "443:x"},
        new String[] {"rm", "443:/a/../b"})) {
      Run r = serve(bad);
      assertThat(r.exit()).as(String.join(" ", bad)).isEqualTo(2);
      assertThat(r.err().lines().findFirst().orElse("")).as(String.join(" ", bad)).isNotBlank();
    }
    assertThat(serve.changes).isEmpty();
  }

  @Test
  void theServeCommandNeedsNoneOfTheNodesFlagsButTheNodeStillDoes() {
    Run list = run("node", "serve", "--state", state.toString(), "list");
    assertThat(list.exit()).as(list.err()).isZero();

    Run node = run("node", "--hostname", "web");
    assertThat(node.exit()).isEqualTo(2);
    assertThat(node.err()).contains("Missing required options: '--server=HOST:PORT[,HOST:PORT…]', '--ca=FILE', "
        + "'--funnel=PORT[:/PATH]=TARGET'");

    Run help = run("node", "--help");
    assertThat(help.out()).contains("funnel node serve list|add PORT[:/PATH]=TARGET|rm PORT[:/PATH]").contains("serve ");
  }

  private Run serve(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of("node", "serve"));
    all.addAll(List.of(args));
    all.addAll(List.of("--state", state.toString()));
    return run(all.toArray(String[]::new));
  }

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = FunnelCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private HttpResponse<String> call(String method, String path, String body, String bearer) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path))
        .method(method, body == null ? BodyPublishers.noBody() : BodyPublishers.ofString(body));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
