package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.AdminApiVerticle;
import dev.funnel.registry.RegistryService;
import dev.funnel.registry.RegistryVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** {@code funnel admin} against a real registry and admin API started in this JVM. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AdminCommandTest {

  private static final String DOMAIN = "funnel.test";
  private static final long WAIT_SECONDS = 10;

  @TempDir
  Path state;
  @TempDir
  Path elsewhere;

  private Vertx vertx;
  private RegistryService service;
  private String url;
  private String token;

  /** What one `funnel admin …` printed and returned. */
  record Run(int exit, String out, String err) {
    List<String> lines() {
      return out.lines().toList();
    }

    String lastLine() {
      List<String> lines = lines();
      return lines.get(lines.size() - 1);
    }

    JsonObject json() {
      return new JsonObject(out);
    }
  }

  @BeforeEach
  void startRegistry() throws IOException {
    vertx = FunnelVertx.local();
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain(DOMAIN)
        .setAdminListen(new HostPort("127.0.0.1", 0));
    service = await(RegistryService.open(vertx, options));
    await(vertx.deployVerticle(new RegistryVerticle(options, service)));
    AdminApiVerticle api = new AdminApiVerticle(options, service);
    await(vertx.deployVerticle(api));
    url = "http://127.0.0.1:" + api.actualPort();
    token = Files.readString(state.resolve("admin-token"));
    assertThat(Files.readString(state.resolve("admin-url"))).isEqualTo(url);
  }

  @AfterEach
  void stopRegistry() {
    await(service.close());
    await(vertx.close());
  }

  // ------------------------------------------------------------ tailnets

  @Test
  void tailnetAddListSetRemove() {
    Run add = admin("tailnet", "add", "demo", "--funnel", "on");
    assertThat(add.exit()).as(add.err()).isZero();
    assertThat(add.out()).isEqualTo("added tailnet demo: funnel on, ports 443\n");
    assertThat(admin("tailnet", "add", "lab", "--ports", "10000,443").out())
        .isEqualTo("added tailnet lab: funnel off, ports 443,10000\n");

    Run list = admin("tailnet", "list");
    assertThat(list.exit()).isZero();
    assertThat(list.lines()).hasSize(3);
    assertThat(list.lines().get(0)).matches("NAME +FUNNEL +PORTS +CREATED");
    assertThat(list.lines().get(1)).matches("demo +on +443 +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
    assertThat(list.lines().get(2)).matches("lab +off +443,10000 +\\S+Z");
    assertThat(list.lines()).as("aligned columns").allSatisfy(line -> {
      assertThat(line.indexOf(line.split(" +")[1])).isEqualTo(list.lines().get(0).indexOf("FUNNEL"));
      assertThat(line.indexOf(line.split(" +")[3])).isEqualTo(list.lines().get(0).indexOf("CREATED"));
    });

    JsonArray tailnets = admin("tailnet", "list", "--json").json().getJsonArray("tailnets");
    assertThat(tailnets).hasSize(2);
    assertThat(tailnets.getJsonObject(0).getString("name")).isEqualTo("demo");
    assertThat(tailnets.getJsonObject(0).getBoolean("funnel")).isTrue();
    assertThat(tailnets.getJsonObject(1).getJsonArray("ports")).isEqualTo(new JsonArray().add(443).add(10000));

    Run set = admin("tailnet", "set", "demo", "--funnel", "off", "--ports", "8443");
    assertThat(set.exit()).as(set.err()).isZero();
    assertThat(set.out()).isEqualTo("changed tailnet demo: funnel off, ports 8443\n");
    assertThat(admin("tailnet", "set", "lab", "--funnel", "on").out())
        .as("only what is given changes").isEqualTo("changed tailnet lab: funnel on, ports 443,10000\n");
    assertThat(service.tailnets()).anySatisfy(t -> {
      assertThat(t.name()).isEqualTo("demo");
      assertThat(t.funnel()).isFalse();
      assertThat(t.ports()).containsExactly(8443);
    });

    Run rm = admin("tailnet", "rm", "lab");
    assertThat(rm.exit()).as(rm.err()).isZero();
    assertThat(rm.out()).startsWith("removed tailnet lab");
    assertThat(service.tailnets()).extracting(t -> t.name()).containsExactly("demo");
    assertThat(admin("tailnet", "rm", "demo").exit()).isZero();
    assertThat(admin("tailnet", "list").out()).startsWith("no tailnets");
    assertThat(admin("tailnet", "list", "--json").json()).isEqualTo(new JsonObject().put("tailnets", new JsonArray()));
  }

  @Test
  void tailnetRefusalsCarryTheApiMessageAndCode() {
    assertThat(admin("tailnet", "add", "demo").exit()).isZero();

    Run again = admin("tailnet", "add", "demo");
    assertThat(again.exit()).as(again.err()).isEqualTo(1);
    assertThat(again.out()).isEmpty();
    assertThat(again.err()).isEqualTo("funnel admin: tailnet demo already exists (CONFLICT)\n");

    Run unknown = admin("tailnet", "set", "nope", "--funnel", "on");
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.err()).isEqualTo("funnel admin: no tailnet nope (NOT_FOUND)\n");

    Run badName = admin("tailnet", "add", "Bad_Name");
    assertThat(badName.exit()).isEqualTo(1);
    assertThat(badName.err()).startsWith("funnel admin: tailnet name 'Bad_Name' is not a DNS label")
        .endsWith("(BAD_REQUEST)\n");
  }

  // ------------------------------------------------------------ keys

  @Test
  void keyAddPrintsTheKeyAloneOnTheLastLineAndNowhereElse() {
    admin("tailnet", "add", "demo", "--funnel", "on");

    Run add = admin("key", "add", "--tailnet", "demo", "--reusable", "--expiry", "24h");
    assertThat(add.exit()).as(add.err()).isZero();
    assertThat(add.lines()).hasSizeGreaterThan(1);
    String key = add.lastLine();
    assertThat(key).matches("\\S{16,}");
    assertThat(add.lines().subList(0, add.lines().size() - 1)).noneMatch(line -> line.contains(key));
    assertThat(add.lines().get(0)).contains("for tailnet demo").contains("reusable");

    Run list = admin("key", "list");
    assertThat(list.exit()).isZero();
    assertThat(list.out()).doesNotContain(key);
    assertThat(list.lines().get(0)).matches("ID +TAILNET +REUSABLE +STATE +EXPIRES +CREATED");
    assertThat(list.lines().get(1)).matches("\\S+ +demo +yes +usable +\\S+Z +\\S+Z");
    Run json = admin("key", "list", "--json");
    assertThat(json.out()).doesNotContain(key);
    JsonObject listed = json.json().getJsonArray("keys").getJsonObject(0);
    assertThat(add.lines().get(0)).contains(listed.getString("id"));
    assertThat(Duration.between(Instant.parse(listed.getString("createdAt")), Instant.parse(listed.getString("expiresAt"))))
        .as("--expiry 24h").isEqualTo(Duration.ofHours(24));

    Run oneOff = admin("key", "add", "--tailnet", "demo");
    assertThat(oneOff.exit()).isZero();
    assertThat(oneOff.lastLine()).isNotEqualTo(key).matches("\\S{16,}");
    assertThat(oneOff.lines().get(0)).contains("one node, once").contains("expires never");
  }

  @Test
  void keyRemoveRevokes() {
    admin("tailnet", "add", "demo");
    admin("key", "add", "--tailnet", "demo");
    String id = admin("key", "list", "--json").json().getJsonArray("keys").getJsonObject(0).getString("id");

    Run rm = admin("key", "rm", id);
    assertThat(rm.exit()).as(rm.err()).isZero();
    assertThat(rm.out()).isEqualTo("revoked auth key " + id + "\n");
    assertThat(admin("key", "list").lines().get(1)).matches(id + " +demo +no +revoked .*");
    assertThat(admin("key", "list", "--json").json().getJsonArray("keys").getJsonObject(0).getString("revokedAt"))
        .isNotNull();

    Run unknown = admin("key", "rm", "kdoesnotexist");
    assertThat(unknown.exit()).isEqualTo(1);
    assertThat(unknown.err()).isEqualTo("funnel admin: no auth key kdoesnotexist (NOT_FOUND)\n");
  }

  @Test
  void keyAddForAnUnknownTailnetFails() {
    Run add = admin("key", "add", "--tailnet", "nope");
    assertThat(add.exit()).isEqualTo(1);
    assertThat(add.out()).isEmpty();
    assertThat(add.err()).isEqualTo("funnel admin: no tailnet nope (NOT_FOUND)\n");
    assertThat(admin("key", "list").out()).startsWith("no auth keys");
  }

  // ------------------------------------------------------------ nodes

  @Test
  void nodeListShowsALoggedInNodeAndRemoveForgetsIt() {
    assertThat(admin("node", "list").out()).startsWith("no nodes");
    assertThat(admin("node", "list", "--json").json()).isEqualTo(new JsonObject().put("nodes", new JsonArray()));

    admin("tailnet", "add", "demo", "--funnel", "on", "--ports", "443,8443");
    String key = admin("key", "add", "--tailnet", "demo").lastLine();
    NodeSession session = await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        new TestNode().login(key, "web", List.of(443), "gw1"))).body();
    assertThat(session.fqdn()).isEqualTo("web.demo." + DOMAIN);

    Run list = admin("node", "list");
    assertThat(list.exit()).as(list.err()).isZero();
    assertThat(list.lines()).hasSize(2);
    assertThat(list.lines().get(0)).matches("NODE +FQDN +ONLINE +PORTS +GATEWAYS +KEY +CREATED");
    assertThat(list.lines().get(1)).matches("web\\.demo +web\\.demo\\.funnel\\.test +yes +443 +gw1 +\\S+ +\\S+Z");
    JsonObject node = admin("node", "list", "--json").json().getJsonArray("nodes").getJsonObject(0);
    assertThat(node.getString("id")).isEqualTo(session.nodeId());
    assertThat(node.getBoolean("online")).isTrue();
    assertThat(admin("key", "list").lines().get(1)).contains(" used ");

    Run rm = admin("node", "rm", "web.demo");
    assertThat(rm.exit()).as(rm.err()).isZero();
    assertThat(rm.out()).isEqualTo("removed node web.demo\n");
    assertThat(admin("node", "list").out()).startsWith("no nodes");
  }

  @Test
  void nodeRemoveOfAnUnknownNodeFailsWithTheApiMessage() {
    admin("tailnet", "add", "demo");
    Run rm = admin("node", "rm", "ghost.demo");
    assertThat(rm.exit()).isEqualTo(1);
    assertThat(rm.out()).isEmpty();
    assertThat(rm.err()).isEqualTo("funnel admin: no node ghost.demo (NOT_FOUND)\n");

    Run malformed = admin("node", "rm", "ghost");
    assertThat(malformed.exit()).isEqualTo(1);
    assertThat(malformed.err()).isEqualTo("funnel admin: node must be NAME.TAILNET, got 'ghost' (BAD_REQUEST)\n");
  }

  // ------------------------------------------------------------ where to connect

  @Test
  void aWrongTokenIsRefusedWithThe401Message() {
    Run run = adminIn(Map.of(), "--url", url, "--token", "not-the-token", "tailnet", "list");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).startsWith("funnel admin: a valid 'Authorization: Bearer <token>' header is required")
        .endsWith(" (UNAUTHORIZED)\n").doesNotContain("not-the-token");
  }

  @Test
  void noServerMeansCannotReach() throws IOException {
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }
    Files.writeString(elsewhere.resolve("admin-url"), "http://127.0.0.1:" + closed);
    Files.writeString(elsewhere.resolve("admin-token"), "whatever");

    Run run = adminIn(Map.of(), "--state", elsewhere.toString(), "tailnet", "list");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).isEqualTo("funnel admin: cannot reach the admin API at http://127.0.0.1:" + closed
        + ": is `funnel server` running?\n");
  }

  @Test
  void anEmptyStateDirectoryNamesWhatIsMissing() throws IOException {
    Run noUrl = adminIn(Map.of(), "--state", elsewhere.toString(), "node", "list");
    assertThat(noUrl.exit()).isEqualTo(1);
    assertThat(noUrl.err()).startsWith("funnel admin: no admin URL: start `funnel server` or pass --url");

    Files.writeString(elsewhere.resolve("admin-url"), url);
    Run noToken = adminIn(Map.of(), "--state", elsewhere.toString(), "node", "list");
    assertThat(noToken.exit()).isEqualTo(1);
    assertThat(noToken.err()).startsWith("funnel admin: no admin token: pass --token or set FUNNEL_ADMIN_TOKEN");
  }

  @Test
  void urlAndTokenFlagsOverrideTheStateDirectory() throws IOException {
    Files.writeString(elsewhere.resolve("admin-url"), "http://127.0.0.1:1");
    Files.writeString(elsewhere.resolve("admin-token"), "stale");
    Run run = adminIn(Map.of(), "--state", elsewhere.toString(), "--url", url, "--token", token,
        "tailnet", "add", "demo");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(service.tailnets()).extracting(t -> t.name()).containsExactly("demo");
  }

  @Test
  void theEnvironmentIsUsedWithoutStateAndAnExplicitStateWins() {
    Run byEnv = adminIn(Map.of(AdminCommand.ENV_URL, url, AdminCommand.ENV_TOKEN, token), "tailnet", "add", "demo");
    assertThat(byEnv.exit()).as(byEnv.err()).isZero();

    Map<String, String> unreachable = Map.of(AdminCommand.ENV_URL, "http://127.0.0.1:1", AdminCommand.ENV_TOKEN, "x");
    Run byState = adminIn(unreachable, "--state", state.toString(), "tailnet", "list");
    assertThat(byState.exit()).as(byState.err()).isZero();
    assertThat(byState.out()).contains("demo");
  }

  @Test
  void theStateTokenIsNeverSentToAnotherUrl() {
    Run run = adminIn(Map.of(), "--state", state.toString(), "--url", "http://127.0.0.1:1", "tailnet", "list");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).isEqualTo("funnel admin: no admin token for http://127.0.0.1:1: pass --token or set "
        + "FUNNEL_ADMIN_TOKEN\n");
  }

  @Test
  void connectionOptionsMayFollowTheSubcommand() {
    Run run = adminIn(Map.of(), "tailnet", "add", "demo", "--state", state.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    Run flags = adminIn(Map.of(), "node", "list", "--url", url, "--token", token);
    assertThat(flags.exit()).as(flags.err()).isZero();
  }

  @Test
  void runsAsASubcommandOfFunnel() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = FunnelCommand.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute("admin", "--state", state.toString(), "tailnet", "add", "demo", "--funnel", "on");
    assertThat(exit).as(err.toString()).isZero();
    assertThat(out.toString()).isEqualTo("added tailnet demo: funnel on, ports 443\n");
    assertThat(service.tailnets()).extracting(t -> t.funnel()).containsExactly(true);
  }

  // ------------------------------------------------------------ usage

  static Stream<List<String>> usageErrors() {
    return Stream.of(
        List.of("tailnet", "add", "demo", "--funnel", "yes"),
        List.of("tailnet", "add", "demo", "--funnel", "ON"),
        List.of("tailnet", "add", "demo", "--ports", "80"),
        List.of("tailnet", "add", "demo", "--ports", "443,x"),
        List.of("tailnet", "add", "demo", "--ports", ","),
        List.of("tailnet", "add"),
        List.of("tailnet", "set", "demo"),
        List.of("key", "add"),
        List.of("key", "add", "--tailnet", "demo", "--expiry", "3w"),
        List.of("node", "rm"),
        List.of("--url", "ftp://host", "tailnet", "list"),
        List.of("frobnicate"),
        List.of());
  }

  @ParameterizedTest
  @MethodSource("usageErrors")
  void usageErrorsExitWith2AndChangeNothing(List<String> args) {
    Run run = admin(args.toArray(String[]::new));
    assertThat(run.exit()).as(run.err()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    // picocli prints the usage, or, for an unknown subcommand close to a real one, only its
    // suggestion ("frobnicate" → "Did you mean: admin status?").
    assertThat(run.err()).containsAnyOf("Usage:", "Did you mean:");
    assertThat(service.tailnets()).isEmpty();
  }

  // ------------------------------------------------------------ helpers

  /** `funnel admin --state <the registry's state dir> args…` with an empty environment. */
  private Run admin(String... args) {
    List<String> all = new ArrayList<>(List.of("--state", state.toString()));
    all.addAll(List.of(args));
    return adminIn(Map.of(), all.toArray(String[]::new));
  }

  private Run adminIn(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new AdminCommand(env)).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
        .execute(args);
    Run run = new Run(exit, out.toString(), err.toString());
    assertThat(run.out() + run.err()).as("the admin token is never printed").doesNotContain(token);
    return run;
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no success within " + WAIT_SECONDS + " s", e);
    }
  }

  /** A node with an EC P-256 key, as the node agent makes one. */
  private static final class TestNode {
    private final KeyPair pair;

    TestNode() {
      try {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        pair = g.generateKeyPair();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    NodeLogin login(String authKey, String hostname, List<Integer> ports, String gatewayId) {
      String challenge = UUID.randomUUID().toString();
      try {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(pair.getPrivate());
        s.update(challenge.getBytes(StandardCharsets.UTF_8));
        return new NodeLogin(authKey, hostname, ports, gatewayId,
            Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()), challenge,
            Base64.getEncoder().encodeToString(s.sign()));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
