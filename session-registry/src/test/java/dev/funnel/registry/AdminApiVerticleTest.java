package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.RegistryOptions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** The admin REST API over real HTTP. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AdminApiVerticleTest {

  private static final String DOMAIN = "funnel.test";

  @TempDir
  Path state;

  private Vertx vertx;
  private RegistryService service;
  private AdminApiVerticle api;
  private HttpClient client;
  private String token;

  record Response(int status, MultiMap headers, Buffer body) {
    JsonObject json() {
      return body.toJsonObject();
    }

    String errorCode() {
      return json().getJsonObject("error").getString("code");
    }
  }

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    this.vertx = vertx;
    TestSupport.registerCodecs(vertx);
    // Failed-token limiting has its own test (AdminAuthLimitTest); these tests fail tokens on purpose.
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain(DOMAIN)
        .setAdminListen(new HostPort("127.0.0.1", 0)).setAdminAuthFailureBurst(1000);
    service = await(RegistryService.open(vertx, options));
    await(vertx.deployVerticle(new RegistryVerticle(options, service)));
    api = new AdminApiVerticle(options, service);
    await(vertx.deployVerticle(api));
    client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(api.actualPort()));
    token = Files.readString(state.resolve("admin-token"));
  }

  @AfterEach
  void tearDown() {
    await(client.close());
    await(service.close());
  }

  // ------------------------------------------------------------ helpers

  private Response call(HttpMethod method, String path, String bearer, String body) {
    RequestOptions request = new RequestOptions().setMethod(method).setURI(path);
    if (bearer != null) {
      request.putHeader("Authorization", "Bearer " + bearer);
    }
    if (body != null) {
      request.putHeader("Content-Type", "application/json");
    }
    Future<Response> response = client.request(request).compose(req -> (body == null ? req.send() : req.send(body))
        .compose(resp -> resp.body().map(b -> new Response(resp.statusCode(), resp.headers(), b))));
    return await(response);
  }

  private Response call(HttpMethod method, String path, String body) {
    return call(method, path, token, body);
  }

  private Response call(HttpMethod method, String path) {
    return call(method, path, token, null);
  }

  private Response post(String path, JsonObject body) {
    return call(HttpMethod.POST, path, body.encode());
  }

  private JsonObject createTailnet(String name, boolean funnel, int... ports) {
    Response r = post("/v1/tailnets", new JsonObject().put("name", name).put("funnel", funnel)
        .put("ports", new JsonArray(java.util.Arrays.stream(ports).boxed().toList())));
    assertThat(r.status()).isEqualTo(201);
    return r.json();
  }

  // ------------------------------------------------------------ files and auth

  @Test
  void tokenFileIsOwnerOnlyAndUrlFileNamesTheBoundPort() throws Exception {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("admin-token"))))
        .isEqualTo("rw-------");
    assertThat(token).hasSizeGreaterThanOrEqualTo(40).doesNotContain("\n");
    assertThat(Files.readString(state.resolve("admin-url"))).isEqualTo("http://127.0.0.1:" + api.actualPort());
    // A second start reuses the token.
    assertThat(AdminFiles.loadOrCreateToken(state)).isEqualTo(token);
  }

  @Test
  void everyV1CallNeedsTheToken() {
    for (String path : List.of("/v1/tailnets", "/v1/keys", "/v1/nodes", "/v1/tailnets/demo", "/v1/nosuch")) {
      Response none = call(HttpMethod.GET, path, null, null);
      assertThat(none.status()).as(path).isEqualTo(401);
      assertThat(none.errorCode()).isEqualTo("UNAUTHORIZED");
      assertThat(none.headers().get("WWW-Authenticate")).startsWith("Bearer");
      Response wrong = call(HttpMethod.GET, path, token.substring(1) + "x", null);
      assertThat(wrong.status()).as(path).isEqualTo(401);
    }
    Response post = call(HttpMethod.POST, "/v1/tailnets", "nope", new JsonObject().put("name", "x").encode());
    assertThat(post.status()).isEqualTo(401);
    assertThat(service.tailnets()).isEmpty();
    Response basic = await(client.request(new RequestOptions().setURI("/v1/tailnets")
            .putHeader("Authorization", "Basic " + token))
        .compose(req -> req.send().compose(resp -> resp.body().map(b -> new Response(resp.statusCode(), resp.headers(), b)))));
    assertThat(basic.status()).isEqualTo(401);
    assertThat(call(HttpMethod.GET, "/v1/tailnets", token, null).status()).isEqualTo(200);
  }

  @Test
  void openApiHealthAndReadyNeedNoToken() {
    Response doc = call(HttpMethod.GET, "/v1/openapi.yaml", null, null);
    assertThat(doc.status()).isEqualTo(200);
    assertThat(doc.headers().get("Content-Type")).contains("yaml");
    Map<String, Object> yaml = new Yaml().load(doc.body().toString());
    assertThat(yaml.get("openapi").toString()).startsWith("3.");
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) yaml.get("paths");
    assertThat(paths).containsKeys("/v1/tailnets", "/v1/tailnets/{name}", "/v1/keys", "/v1/keys/{id}", "/v1/nodes",
        "/v1/nodes/{node}", "/v1/aliases", "/v1/aliases/{alias}", "/v1/openapi.yaml", "/health", "/ready");
    assertThat(paths.get("/v1/tailnets")).containsKeys("get", "post");
    assertThat(paths.get("/v1/tailnets/{name}")).containsKeys("get", "patch", "delete");
    assertThat(paths.get("/v1/keys")).containsKeys("get", "post");
    assertThat(paths.get("/v1/keys/{id}")).containsKeys("delete");
    assertThat(paths.get("/v1/nodes")).containsKeys("get");
    assertThat(paths.get("/v1/nodes/{node}")).containsKeys("delete");

    for (String path : List.of("/health", "/ready")) {
      Response r = call(HttpMethod.GET, path, null, null);
      assertThat(r.status()).as(path).isEqualTo(200);
      assertThat(r.json().getString("status")).isEqualTo("UP");
    }
  }

  @Test
  void healthFailsWhenTheStoreDoesNotAnswerAndErrorsCarryNoStackTrace() {
    await(service.close());
    Response health = call(HttpMethod.GET, "/health", null, null);
    assertThat(health.status()).isEqualTo(503);
    assertThat(health.json().getString("status")).isEqualTo("DOWN");

    Response keys = call(HttpMethod.GET, "/v1/keys");
    assertThat(keys.status()).isEqualTo(500);
    assertThat(keys.errorCode()).isEqualTo("INTERNAL");
    assertThat(keys.body().toString()).doesNotContain("Exception", "at dev.", "at io.", "jdbc");
  }

  // ------------------------------------------------------------ tailnets

  @Test
  void tailnetLifecycle() {
    Response created = post("/v1/tailnets", new JsonObject().put("name", "demo"));
    assertThat(created.status()).isEqualTo(201);
    assertThat(created.json().getString("name")).isEqualTo("demo");
    assertThat(created.json().getBoolean("funnel")).as("off by default").isFalse();
    assertThat(created.json().getJsonArray("ports")).containsExactly(443);
    assertThat(created.json().getString("createdAt")).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");

    Response again = post("/v1/tailnets", new JsonObject().put("name", "demo").put("funnel", true));
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.errorCode()).isEqualTo("CONFLICT");

    createTailnet("alpha", true, 8443, 443, 10000);
    Response list = call(HttpMethod.GET, "/v1/tailnets");
    assertThat(list.status()).isEqualTo(200);
    JsonArray tailnets = list.json().getJsonArray("tailnets");
    assertThat(tailnets.stream().map(t -> ((JsonObject) t).getString("name"))).containsExactly("alpha", "demo");
    assertThat(tailnets.getJsonObject(0).getJsonArray("ports")).containsExactly(443, 8443, 10000);

    Response one = call(HttpMethod.GET, "/v1/tailnets/demo");
    assertThat(one.status()).isEqualTo(200);
    assertThat(one.json().fieldNames()).containsExactlyInAnyOrder("name", "funnel", "ports", "createdAt");

    Response patched = call(HttpMethod.PATCH, "/v1/tailnets/demo", new JsonObject().put("funnel", true).encode());
    assertThat(patched.status()).isEqualTo(200);
    assertThat(patched.json().getBoolean("funnel")).isTrue();
    assertThat(patched.json().getJsonArray("ports")).as("ports kept").containsExactly(443);
    Response ports = call(HttpMethod.PATCH, "/v1/tailnets/demo",
        new JsonObject().put("ports", new JsonArray().add(8443).add(443)).encode());
    assertThat(ports.json().getJsonArray("ports")).containsExactly(443, 8443);
    assertThat(ports.json().getBoolean("funnel")).as("funnel kept").isTrue();
    assertThat(service.tailnets()).filteredOn(t -> t.name().equals("demo")).singleElement()
        .satisfies(t -> assertThat(t.funnel()).isTrue());

    assertThat(call(HttpMethod.PATCH, "/v1/tailnets/nosuch", "{\"funnel\":true}").status()).isEqualTo(404);
    assertThat(call(HttpMethod.GET, "/v1/tailnets/nosuch").errorCode()).isEqualTo("NOT_FOUND");
    assertThat(call(HttpMethod.DELETE, "/v1/tailnets/demo").status()).isEqualTo(204);
    assertThat(call(HttpMethod.DELETE, "/v1/tailnets/demo").status()).isEqualTo(404);
    assertThat(call(HttpMethod.GET, "/v1/tailnets/demo").status()).isEqualTo(404);
  }

  @Test
  void badBodiesAreRefusedWithAReason() {
    Map<String, String> cases = Map.of(
        "{\"name\":\"demo\",\"colour\":\"red\"}", "unknown field 'colour'",
        "{\"name\":\"demo\",\"funnel\":\"yes\"}", "'funnel' must be true or false",
        "{\"name\":42}", "'name' must be a string",
        "{\"name\":\"Bad_Name\"}", "not a DNS label",
        "{\"name\":\"-demo\"}", "not a DNS label",
        "{\"name\":\"demo\",\"ports\":[80]}", "port 80 is not a Funnel port",
        "{\"name\":\"demo\",\"ports\":[443.5]}", "must hold integers",
        "{\"name\":\"demo\",\"ports\":443}", "must be an array",
        "[\"demo\"]", "must be a JSON object",
        "{\"name\":", "not valid JSON");
    cases.forEach((body, reason) -> {
      Response r = call(HttpMethod.POST, "/v1/tailnets", body);
      assertThat(r.status()).as(body).isEqualTo(400);
      assertThat(r.errorCode()).as(body).isEqualTo("BAD_REQUEST");
      assertThat(r.json().getJsonObject("error").getString("message")).as(body).contains(reason);
    });
    assertThat(call(HttpMethod.POST, "/v1/tailnets", "").status()).as("no body").isEqualTo(400);
    assertThat(call(HttpMethod.GET, "/v1/tailnets/Bad_Name").status()).isEqualTo(400);
    createTailnet("demo", false, 443);
    assertThat(call(HttpMethod.PATCH, "/v1/tailnets/demo", "{\"name\":\"x\"}").status()).as("name not patchable")
        .isEqualTo(400);
    assertThat(call(HttpMethod.PATCH, "/v1/tailnets/demo", "{\"ports\":[443, 22]}").status()).isEqualTo(400);
    assertThat(call(HttpMethod.POST, "/v1/keys", "{\"tailnet\":\"demo\",\"reusable\":1}").status()).isEqualTo(400);
    assertThat(call(HttpMethod.POST, "/v1/keys", "{\"tailnet\":\"demo\",\"expirySeconds\":\"1h\"}").status())
        .isEqualTo(400);
    assertThat(call(HttpMethod.POST, "/v1/keys", "{\"tailnet\":\"demo\",\"expirySeconds\":0}").status()).isEqualTo(400);
    assertThat(call(HttpMethod.POST, "/v1/keys", "{\"reusable\":true}").status()).as("tailnet required").isEqualTo(400);
    assertThat(service.tailnets()).extracting(t -> t.name()).containsExactly("demo");
    assertThat(call(HttpMethod.GET, "/v1/tailnets/demo").json().getJsonArray("ports")).containsExactly(443);
  }

  @Test
  void oversizeBodyIsRefusedWith413() {
    String big = new JsonObject().put("name", "demo").put("pad", "x".repeat(AdminApiVerticle.MAX_BODY_BYTES)).encode();
    Response r = call(HttpMethod.POST, "/v1/tailnets", big);
    assertThat(r.status()).isEqualTo(413);
    assertThat(r.errorCode()).isEqualTo("PAYLOAD_TOO_LARGE");
    assertThat(service.tailnets()).isEmpty();
  }

  @Test
  void unknownRoutesAndMethodsAreJsonErrors() {
    Response missing = call(HttpMethod.GET, "/v1/nosuch");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.errorCode()).isEqualTo("NOT_FOUND");
    Response method = call(HttpMethod.PUT, "/v1/tailnets", "{}");
    assertThat(method.status()).isEqualTo(405);
    assertThat(method.json().containsKey("error")).isTrue();
  }

  // ------------------------------------------------------------ keys

  @Test
  void keyLifecycleShowsTheKeyOnlyOnce() {
    createTailnet("demo", true, 443);
    Response created = post("/v1/keys", new JsonObject().put("tailnet", "demo").put("reusable", true)
        .put("expirySeconds", 3600));
    assertThat(created.status()).isEqualTo(201);
    JsonObject key = created.json();
    assertThat(key.fieldNames()).containsExactlyInAnyOrder("id", "key", "tailnet", "reusable", "expiresAt");
    assertThat(key.getString("key")).matches("fnl-auth-[A-Za-z0-9_-]{32}");
    assertThat(key.getString("id")).matches("k[a-z0-9]{12}");
    assertThat(key.getBoolean("reusable")).isTrue();
    assertThat(key.getString("expiresAt")).isNotNull();

    JsonObject oneOff = post("/v1/keys", new JsonObject().put("tailnet", "demo")).json();
    assertThat(oneOff.getBoolean("reusable")).isFalse();
    assertThat(oneOff.getValue("expiresAt")).isNull();

    Response list = call(HttpMethod.GET, "/v1/keys");
    assertThat(list.status()).isEqualTo(200);
    assertThat(list.body().toString()).doesNotContain(key.getString("key"), oneOff.getString("key"),
        Secrets.hash(key.getString("key")));
    JsonArray keys = list.json().getJsonArray("keys");
    assertThat(keys).hasSize(2);
    JsonObject listed = keys.getJsonObject(0);
    assertThat(listed.fieldNames()).containsExactlyInAnyOrder("id", "tailnet", "reusable", "expiresAt", "usedAt",
        "revokedAt", "createdAt");
    assertThat(listed.getString("id")).isEqualTo(key.getString("id"));
    assertThat(listed.getValue("revokedAt")).isNull();

    assertThat(call(HttpMethod.DELETE, "/v1/keys/" + key.getString("id")).status()).isEqualTo(204);
    JsonObject revoked = call(HttpMethod.GET, "/v1/keys").json().getJsonArray("keys").getJsonObject(0);
    assertThat(revoked.getString("revokedAt")).isNotNull();
    assertThat(call(HttpMethod.DELETE, "/v1/keys/knosuch").status()).isEqualTo(404);
    assertThat(post("/v1/keys", new JsonObject().put("tailnet", "nosuch")).status()).isEqualTo(404);
  }

  // ------------------------------------------------------------ nodes

  @Test
  void nodesAreListedWithTheirSessionsAndCanBeRemoved() throws Exception {
    BlockingQueue<SessionKick> kicks = new LinkedBlockingQueue<>();
    await(vertx.eventBus().<SessionKick>consumer(Addresses.SESSION_KICK, m -> kicks.add(m.body())).completion());
    createTailnet("demo", true, 443, 8443);
    String key = post("/v1/keys", new JsonObject().put("tailnet", "demo").put("reusable", true)).json().getString("key");
    NodeSession web = await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        new TestSupport.TestNode().login(key, "web", List.of(8443, 443), "gw1")).map(Message::body));

    JsonArray nodes = call(HttpMethod.GET, "/v1/nodes").json().getJsonArray("nodes");
    assertThat(nodes).hasSize(1);
    JsonObject node = nodes.getJsonObject(0);
    assertThat(node.getString("id")).isEqualTo(web.nodeId());
    assertThat(node.getString("name")).isEqualTo("web");
    assertThat(node.getString("tailnet")).isEqualTo("demo");
    assertThat(node.getString("fqdn")).isEqualTo("web.demo." + DOMAIN);
    assertThat(node.getBoolean("online")).isTrue();
    assertThat(node.getJsonArray("gateways")).containsExactly("gw1");
    assertThat(node.getJsonArray("ports")).containsExactly(443, 8443);
    assertThat(node.getString("createdAt")).isNotNull();

    assertThat(call(HttpMethod.DELETE, "/v1/nodes/web").status()).as("not NAME.TAILNET").isEqualTo(400);
    assertThat(call(HttpMethod.DELETE, "/v1/nodes/a.b.c").status()).isEqualTo(400);
    assertThat(call(HttpMethod.DELETE, "/v1/nodes/api.demo").status()).isEqualTo(404);
    assertThat(call(HttpMethod.DELETE, "/v1/nodes/web.demo").status()).isEqualTo(204);
    SessionKick kick = kicks.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(kick).isNotNull();
    assertThat(kick.nodeId()).isEqualTo(web.nodeId());
    assertThat(call(HttpMethod.GET, "/v1/nodes").json().getJsonArray("nodes")).isEmpty();
    assertThat(call(HttpMethod.DELETE, "/v1/nodes/web.demo." + DOMAIN).status()).as("full name accepted, gone")
        .isEqualTo(404);
  }

  @Test
  void aliasesComeFromTheNodesLoginAndTheAdminAndAreCheckedBeforeTheyAreTaken() throws Exception {
    BlockingQueue<dev.funnel.common.bus.AliasStatus> statuses = new LinkedBlockingQueue<>();
    await(vertx.eventBus().<dev.funnel.common.bus.AliasStatus>consumer(Addresses.ALIAS_STATUS,
        m -> statuses.add(m.body())).completion());
    createTailnet("demo", true, 443);
    String key = post("/v1/keys", new JsonObject().put("tailnet", "demo").put("reusable", true)).json().getString("key");
    TestSupport.TestNode webKey = new TestSupport.TestNode();
    NodeSession web = await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        withAliases(webKey.login(key, "web", List.of(443), "gw1"),
            List.of("Blog.Example.com", "under_score.example", "x.demo." + DOMAIN))).map(Message::body));
    await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        new TestSupport.TestNode().login(key, "api", List.of(443), "gw1")).map(Message::body));

    dev.funnel.common.bus.AliasStatus status = await(vertx.eventBus()
        .<dev.funnel.common.bus.AliasStatus>request(Addresses.REGISTRY_NODE_ALIASES, web.nodeId()).map(Message::body));
    assertThat(status.aliases()).extracting(a -> a.alias() + " " + a.state().label())
        .containsExactly("blog.example.com pending", "under_score.example refused", "x.demo." + DOMAIN + " refused");
    assertThat(statuses.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS)).isNotNull();

    JsonObject blog = call(HttpMethod.GET, "/v1/aliases").json().getJsonArray("aliases").getJsonObject(0);
    assertThat(blog.getString("alias")).isEqualTo("blog.example.com");
    assertThat(blog.getString("target")).isEqualTo("web.demo." + DOMAIN);
    assertThat(blog.getString("origin")).isEqualTo("node");
    assertThat(blog.getString("state")).isEqualTo("pending");
    assertThat(blog.getString("reason")).contains("no --alias-resolver");
    assertThat(blog.getString("token")).matches("funnel-[0-9a-f]{40}");
    assertThat(blog.getJsonArray("records").getJsonObject(0).getString("name")).isEqualTo("_funnel-challenge.blog.example.com");

    Response shop = post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "web").put("alias", "shop.example.com"));
    assertThat(shop.status()).isEqualTo(201);
    assertThat(shop.json().getString("origin")).isEqualTo("admin");
    assertThat(post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "web").put("alias", "shop.example.com"))
        .json().getString("token")).as("the same alias again: unchanged").isEqualTo(shop.json().getString("token"));
    assertThat(service.aliases().verified().targets()).as("nothing routed before a check").isEmpty();
    Response rival = post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "api").put("alias", "blog.example.com"));
    assertThat(rival.status()).as("another node's pending claim blocks nobody").isEqualTo(201);
    assertThat(rival.json().getString("token")).isNotEqualTo(blog.getString("token"));
    assertThat(rival.json().getString("target")).isEqualTo("api.demo." + DOMAIN);
    // Once a claim is verified (as a check through the resolver would record it), other nodes' new claims are refused.
    await(vertx.executeBlocking(() -> {
      service.store().aliases().stream().filter(a -> a.alias().equals("shop.example.com")).findFirst()
          .ifPresent(a -> service.store().updateAlias(a.withCheck(dev.funnel.registry.store.AliasRecord.VERIFIED, "ok",
              java.time.Instant.now())));
      service.aliases().reloadBlocking();
      return null;
    }));
    assertThat(post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "api").put("alias", "shop.example.com"))
        .status()).as("verified for another node").isEqualTo(409);
    assertThat(service.aliases().verified().targets()).containsOnlyKeys("shop.example.com");
    assertThat(call(HttpMethod.DELETE, "/v1/aliases/blog.example.com?node=api.demo").status()).isEqualTo(204);
    assertThat(call(HttpMethod.DELETE, "/v1/aliases/blog.example.com?node=api.demo").status()).isEqualTo(404);
    assertThat(post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "nobody").put("alias", "a.example.com"))
        .status()).isEqualTo(404);
    assertThat(post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "api").put("alias", "api.demo." + DOMAIN))
        .status()).as("a name under the base domain").isEqualTo(400);
    assertThat(post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "api").put("alias", "com"))
        .status()).isEqualTo(400);

    // The node logs in again asking for nothing: its own alias goes, the admin's stays.
    await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        withAliases(webKey.login(null, "web", List.of(443), "gw1"), List.of())).map(Message::body));
    assertThat(call(HttpMethod.GET, "/v1/aliases").json().getJsonArray("aliases")).extracting(a -> ((JsonObject) a).getString("alias"))
        .containsExactly("shop.example.com");
    assertThat(call(HttpMethod.DELETE, "/v1/aliases/shop.example.com").status()).isEqualTo(204);
    assertThat(call(HttpMethod.DELETE, "/v1/aliases/shop.example.com").status()).isEqualTo(404);
    assertThat(call(HttpMethod.GET, "/v1/aliases").json().getJsonArray("aliases")).isEmpty();
  }

  @Test
  void aNodeMayHoldAtMostTheConfiguredNumberOfAliases() throws Exception {
    createTailnet("demo", true, 443);
    String key = post("/v1/keys", new JsonObject().put("tailnet", "demo").put("reusable", true)).json().getString("key");
    await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        new TestSupport.TestNode().login(key, "web", List.of(443), "gw1")).map(Message::body));
    for (int i = 0; i < RegistryOptions.DEFAULT_MAX_ALIASES_PER_NODE; i++) {
      assertThat(post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "web")
          .put("alias", "a" + i + ".example.com")).status()).isEqualTo(201);
    }
    Response over = post("/v1/aliases", new JsonObject().put("tailnet", "demo").put("node", "web").put("alias", "z.example.com"));
    assertThat(over.status()).isEqualTo(400);
    assertThat(over.json().getJsonObject("error").getString("message")).contains("the most allowed");
  }

  private static dev.funnel.common.bus.NodeLogin withAliases(dev.funnel.common.bus.NodeLogin login, List<String> aliases) {
    return new dev.funnel.common.bus.NodeLogin(login.authKey(), login.hostname(), login.ports(), login.gatewayId(),
        login.nodePublicKey(), login.challenge(), login.proof(), aliases);
  }
}
