package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static dev.funnel.registry.TestSupport.awaitFailure;
import static dev.funnel.registry.TestSupport.failureCode;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.LeaseRenewal;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.NodeLogin;
import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.PortsUpdate;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.RoutableNames;
import dev.funnel.common.bus.Route;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionClosed;
import dev.funnel.common.bus.SessionKick;
import dev.funnel.common.bus.TailnetPolicy;
import dev.funnel.common.bus.SessionLossReport;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.TestSupport.TestNode;
import dev.funnel.registry.store.AuthKeyInfo;
import dev.funnel.registry.store.H2ControlStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The registry as other services see it: requests and publications on the event bus. */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RegistryVerticleTest {

  private static final String DOMAIN = "funnel.test";
  private static final String WEB = "web.demo." + DOMAIN;

  @TempDir
  Path state;

  private Vertx vertx;
  private RegistryService service;
  private final BlockingQueue<RouteChanged> routeChanges = new LinkedBlockingQueue<>();
  private final BlockingQueue<SessionKick> kicks = new LinkedBlockingQueue<>();

  private void start(long leaseMillis) {
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain(DOMAIN).setLeaseMillis(leaseMillis);
    service = await(RegistryService.open(vertx, options));
    await(vertx.deployVerticle(new RegistryVerticle(options, service)));
    MessageConsumer<RouteChanged> c1 = vertx.eventBus().consumer(Addresses.ROUTES_CHANGED, m -> routeChanges.add(m.body()));
    MessageConsumer<SessionKick> c2 = vertx.eventBus().consumer(Addresses.SESSION_KICK, m -> kicks.add(m.body()));
    await(c1.completion());
    await(c2.completion());
  }

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    TestSupport.registerCodecs(vertx);
  }

  @AfterEach
  void tearDown() {
    if (service != null) {
      await(service.close());
    }
  }

  // ------------------------------------------------------------ helpers

  private void tailnet(String name, boolean funnel, Integer... ports) {
    await(service.createTailnet(name, funnel, Set.of(ports)));
  }

  private String key(String tailnet, boolean reusable) {
    return await(service.createKey(tailnet, reusable, null)).key();
  }

  private Future<NodeSession> login(NodeLogin login) {
    return vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN, login).map(Message::body);
  }

  private Future<Route> resolve(String host, int port) {
    return vertx.eventBus().<Route>request(Addresses.REGISTRY_RESOLVE, new ResolveRequest(host, port)).map(Message::body);
  }

  private int resolveFailure(String host, int port) {
    return failureCode(resolve(host, port));
  }

  /** The next route change for {@code host} (null: the "all" change), skipping others; bounded wait. */
  private RouteChanged nextRouteChange(String host) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TestSupport.WAIT_SECONDS);
    while (System.nanoTime() < deadline) {
      RouteChanged change = routeChanges.poll(100, TimeUnit.MILLISECONDS);
      if (change != null && java.util.Objects.equals(change.host(), host)) {
        return change;
      }
    }
    throw new AssertionError("no RouteChanged(" + host + ") within " + TestSupport.WAIT_SECONDS + " s");
  }

  private SessionKick nextKick() throws InterruptedException {
    SessionKick kick = kicks.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(kick).as("a SessionKick").isNotNull();
    return kick;
  }

  /** Tailnet demo (funnel on, 443 and 8443) with node web online on gateway gw1, funnelling 443. */
  private NodeSession webOnline(TestNode node) {
    tailnet("demo", true, 443, 8443);
    return await(login(node.login(key("demo", false), "web", List.of(443), "gw1")));
  }

  // ------------------------------------------------------------ name status (public DNS)

  private NameStatus nameStatus(String name) {
    return await(vertx.eventBus().<NameStatus>request(Addresses.REGISTRY_NAME, new NameQuery(name)).map(Message::body));
  }

  @Test
  void nameStatusSaysRoutableOnlyWhileTheNodeIsOnlineInATailnetWithFunnelOn() {
    start(60_000);
    assertThat(nameStatus(WEB).kind()).isEqualTo(NameStatus.Kind.NONE);
    NodeSession session = webOnline(new TestNode());
    assertThat(nameStatus(WEB)).isEqualTo(new NameStatus(WEB, NameStatus.Kind.ROUTABLE, "gw1"));
    assertThat(nameStatus("WEB.Demo." + DOMAIN + ".").kind()).as("normalised").isEqualTo(NameStatus.Kind.ROUTABLE);
    assertThat(nameStatus("demo." + DOMAIN).kind()).isEqualTo(NameStatus.Kind.TAILNET);
    assertThat(nameStatus("other.demo." + DOMAIN).kind()).isEqualTo(NameStatus.Kind.NONE);
    assertThat(nameStatus("nope." + DOMAIN).kind()).isEqualTo(NameStatus.Kind.NONE);
    assertThat(nameStatus("web.demo.elsewhere.test").kind()).isEqualTo(NameStatus.Kind.NONE);
    assertThat(nameStatus("a.web.demo." + DOMAIN).kind()).isEqualTo(NameStatus.Kind.NONE);

    await(service.updateTailnet("demo", false, null));
    assertThat(nameStatus(WEB).kind()).as("funnel off").isEqualTo(NameStatus.Kind.NONE);
    assertThat(nameStatus("demo." + DOMAIN).kind()).isEqualTo(NameStatus.Kind.NONE);
    await(service.updateTailnet("demo", true, null));
    assertThat(nameStatus(WEB).kind()).isEqualTo(NameStatus.Kind.ROUTABLE);

    await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED,
        new SessionClosed(session.nodeId(), "gw1", session.epoch())));
    assertThat(nameStatus(WEB).kind()).as("offline").isEqualTo(NameStatus.Kind.NONE);
  }

  @Test
  void aTailnetChangeIsPublishedForTheGatewaysToTellItsNodes() throws InterruptedException {
    start(60_000);
    tailnet("demo", true, 443, 8443);
    BlockingQueue<TailnetPolicy> policies = new LinkedBlockingQueue<>();
    await(vertx.eventBus().<TailnetPolicy>consumer(Addresses.TAILNET_CHANGED, m -> policies.add(m.body())).completion());
    await(service.updateTailnet("demo", false, null));
    assertThat(policies.poll(5, TimeUnit.SECONDS)).isEqualTo(new TailnetPolicy("demo", false, List.of(443, 8443)));
    await(service.updateTailnet("demo", true, Set.of(8443)));
    assertThat(policies.poll(5, TimeUnit.SECONDS)).isEqualTo(new TailnetPolicy("demo", true, List.of(8443)));
    awaitFailure(service.updateTailnet("nope", true, null));
    assertThat(policies.poll(200, TimeUnit.MILLISECONDS)).as("nothing changed, nothing published").isNull();
  }

  @Test
  void aNodeFunnellingOnlyPortsTheTailnetForbidsIsNotRoutable() {
    start(60_000);
    tailnet("demo", true, 8443);
    await(login(new TestNode().login(key("demo", false), "web", List.of(443), "gw1")));
    assertThat(nameStatus(WEB).kind()).isEqualTo(NameStatus.Kind.NONE);
  }

  private List<NameStatus> routable() {
    return await(vertx.eventBus().<RoutableNames>request(Addresses.REGISTRY_ROUTABLE, new JsonObject())
        .map(m -> m.body().names()));
  }

  @Test
  void routableNamesListsExactlyTheNamesNameStatusCallsRoutable() {
    start(60_000);
    assertThat(routable()).isEmpty();
    NodeSession web = webOnline(new TestNode());
    tailnet("quiet", true, 8443);
    await(login(new TestNode().login(key("quiet", false), "db", List.of(443), "gw2")));
    await(login(new TestNode().login(key("demo", false), "api", List.of(8443), "gw2")));
    assertThat(routable()).as("db funnels only a port its tailnet forbids").containsExactly(
        new NameStatus("api.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw2"),
        new NameStatus(WEB, NameStatus.Kind.ROUTABLE, "gw1"));

    await(service.updateTailnet("demo", false, null));
    assertThat(routable()).as("funnel off").isEmpty();
    await(service.updateTailnet("demo", true, null));
    await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED, new SessionClosed(web.nodeId(), "gw1", web.epoch())));
    assertThat(routable()).extracting(NameStatus::name).as("web offline").containsExactly("api.demo." + DOMAIN);
  }

  // ------------------------------------------------------------ resolve

  @Test
  void resolveFindsTheNodeAndItsGateway() {
    start(60_000);
    NodeSession session = webOnline(new TestNode());
    assertThat(session.fqdn()).isEqualTo(WEB);
    assertThat(session.tailnet()).isEqualTo("demo");
    assertThat(session.ports()).containsExactly(443);
    assertThat(session.leaseMillis()).isEqualTo(60_000);

    Route route = await(resolve(WEB, 443));
    assertThat(route).isEqualTo(new Route(WEB, 443, session.nodeId(), "gw1", session.epoch()));
    assertThat(await(resolve("WEB.Demo.Funnel.Test.", 443)).nodeId()).as("normalised").isEqualTo(session.nodeId());
  }

  @Test
  void resolveRefusesWithTheRightCodeForEachCase() {
    start(60_000);
    TestNode web = new TestNode();
    NodeSession session = webOnline(web);
    tailnet("off", false, 443);
    await(login(new TestNode().login(key("off", false), "api", List.of(443), "gw1")));

    int noRoute = ResolveFailure.NO_ROUTE.code();
    assertThat(resolveFailure("web.demo.example.com", 443)).as("other domain").isEqualTo(noRoute);
    assertThat(resolveFailure("x.web.demo." + DOMAIN, 443)).as("too many labels").isEqualTo(noRoute);
    assertThat(resolveFailure("demo." + DOMAIN, 443)).as("too few labels").isEqualTo(noRoute);
    assertThat(resolveFailure("127.0.0.1", 443)).as("IP literal").isEqualTo(noRoute);
    assertThat(resolveFailure("web.nosuch." + DOMAIN, 443)).as("unknown tailnet").isEqualTo(noRoute);
    assertThat(resolveFailure("nosuch.demo." + DOMAIN, 443)).as("unknown node").isEqualTo(noRoute);
    assertThat(resolveFailure("api.off." + DOMAIN, 443)).as("funnel off").isEqualTo(ResolveFailure.FUNNEL_OFF.code());
    assertThat(resolveFailure(WEB, 10000)).as("port not allowed by the tailnet")
        .isEqualTo(ResolveFailure.PORT_NOT_ALLOWED.code());
    assertThat(resolveFailure(WEB, 8443)).as("port allowed but not funnelled by the node")
        .isEqualTo(ResolveFailure.PORT_NOT_ALLOWED.code());

    await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED, new SessionClosed(session.nodeId(), "gw1",
        session.epoch())));
    assertThat(resolveFailure(WEB, 443)).as("node offline").isEqualTo(noRoute);
  }

  @Test
  void newestLiveSessionOfTwoGatewaysServes() {
    start(60_000);
    TestNode web = new TestNode();
    tailnet("demo", true, 443);
    String key = key("demo", false);
    NodeSession first = await(login(web.login(key, "web", List.of(443), "gw1")));
    NodeSession second = await(login(web.login(null, "web", List.of(443), "gw2")));
    assertThat(second.nodeId()).isEqualTo(first.nodeId());
    assertThat(second.epoch()).isGreaterThan(first.epoch());
    assertThat(await(resolve(WEB, 443)).gatewayId()).isEqualTo("gw2");

    await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED, new SessionClosed(second.nodeId(), "gw2",
        second.epoch())));
    assertThat(await(resolve(WEB, 443))).extracting(Route::gatewayId, Route::epoch).containsExactly("gw1", first.epoch());
  }

  @Test
  void anAcmeChallengeIsPublishedForTheNodesOwnNameOnly() throws Exception {
    start(60_000);
    tailnet("demo", true, 443);
    String key = key("demo", true);
    NodeSession web = await(login(new TestNode().login(key, "web", List.of(443), "gw1")));
    NodeSession api = await(login(new TestNode().login(key, "api", List.of(443), "gw1")));
    BlockingQueue<Object> published = new LinkedBlockingQueue<>();
    await(vertx.eventBus().consumer(Addresses.DNS_CHALLENGE, m -> published.add(m.body())).completion());

    // Its own name (any case): published for public DNS, set and then removed.
    await(vertx.eventBus().request(Addresses.REGISTRY_ACME_CHALLENGE,
        new dev.funnel.common.bus.AcmeChallengeRequest(web.nodeId(), "gw1", web.epoch(), WEB.toUpperCase(), "v1", true)));
    assertThat(published.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS))
        .isEqualTo(new dev.funnel.common.bus.DnsChallenge(WEB, "v1", true));
    await(vertx.eventBus().request(Addresses.REGISTRY_ACME_CHALLENGE,
        new dev.funnel.common.bus.AcmeChallengeRequest(web.nodeId(), "gw1", web.epoch(), WEB, "v1", false)));
    assertThat(published.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS))
        .isEqualTo(new dev.funnel.common.bus.DnsChallenge(WEB, "v1", false));

    // Another node's name, a session that does not exist, a malformed value: refused, nothing published.
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_ACME_CHALLENGE,
        new dev.funnel.common.bus.AcmeChallengeRequest(api.nodeId(), "gw1", api.epoch(), WEB, "v2", true))))
        .isEqualTo(LoginFailure.BAD_REQUEST.code());
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_ACME_CHALLENGE,
        new dev.funnel.common.bus.AcmeChallengeRequest(web.nodeId(), "gw9", web.epoch(), WEB, "v2", true))))
        .isEqualTo(LoginFailure.LEASE_UNKNOWN.code());
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_ACME_CHALLENGE,
        new dev.funnel.common.bus.AcmeChallengeRequest(web.nodeId(), "gw1", web.epoch(), WEB, "", true))))
        .isEqualTo(LoginFailure.BAD_REQUEST.code());
    assertThat(published.poll(200, TimeUnit.MILLISECONDS)).isNull();
  }

  @Test
  void aSessionReportedLostIsWithdrawnAndTheOtherServes() throws Exception {
    start(60_000);
    TestNode web = new TestNode();
    tailnet("demo", true, 443);
    String key = key("demo", false);
    NodeSession onGw1 = await(login(web.login(key, "web", List.of(443), "gw1")));
    NodeSession onGw2 = await(login(web.login(null, "web", List.of(443), "gw2")));
    assertThat(await(resolve(WEB, 443)).gatewayId()).isEqualTo("gw2");
    BlockingQueue<SessionWithdrawn> withdrawals = new LinkedBlockingQueue<>();
    await(vertx.eventBus().<SessionWithdrawn>consumer(Addresses.SESSION_WITHDRAWN, m -> withdrawals.add(m.body()))
        .completion());

    // The node's newest session (gw2, which serves) dropped; the node says so through gw1, which
    // names the node from its own session.
    SessionLossReport report = new SessionLossReport(onGw2.nodeId(), "gw2", onGw2.epoch(), "gw1", onGw1.epoch(),
        "connection lost: Connection reset");
    Message<Object> answer = await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_LOST, report));
    assertThat(answer.body()).isNull();
    SessionWithdrawn withdrawn = withdrawals.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(withdrawn).isEqualTo(new SessionWithdrawn(onGw2.nodeId(), WEB, "gw2", onGw2.epoch()));
    assertThat(await(resolve(WEB, 443))).extracting(Route::gatewayId, Route::epoch)
        .containsExactly("gw1", onGw1.epoch());

    // Reported again: nothing left to withdraw. Through a gateway that holds no session of the node: refused.
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_SESSION_LOST, report)))
        .isEqualTo(LoginFailure.LEASE_UNKNOWN.code());
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_SESSION_LOST,
        new SessionLossReport(onGw1.nodeId(), "gw1", onGw1.epoch(), "gw9", onGw1.epoch(), "forged"))))
        .isEqualTo(LoginFailure.BAD_REQUEST.code());
    assertThat(await(resolve(WEB, 443)).gatewayId()).as("a refused report withdraws nothing").isEqualTo("gw1");
  }

  @Test
  void aNodeLoggingInElsewhereKeepsItsLiveSessionNotTheWithdrawnOne() {
    start(60_000);
    TestNode web = new TestNode();
    tailnet("demo", true, 443);
    String key = key("demo", false);
    NodeSession onGw1 = await(login(web.login(key, "web", List.of(443), "gw1")));
    NodeSession onGw2 = await(login(web.login(null, "web", List.of(443), "gw2")));
    await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_LOST, new SessionLossReport(onGw2.nodeId(), "gw2",
        onGw2.epoch(), "gw1", onGw1.epoch(), "connection lost")));
    // The replacement on gw3 is the third session: the live one on gw1 stays, not the lost one on gw2.
    NodeSession onGw3 = await(login(web.login(null, "web", List.of(443), "gw3")));
    assertThat(service.nodes().get(0).gateways()).containsExactly("gw3", "gw1");
    assertThat(await(vertx.eventBus().<LeaseRenewal.Ack>request(Addresses.REGISTRY_RENEW,
        new LeaseRenewal(onGw1.nodeId(), "gw1", onGw1.epoch()))).body()).isNotNull();
    assertThat(await(resolve(WEB, 443)).epoch()).isEqualTo(onGw3.epoch());
  }

  // ------------------------------------------------------------ login

  @Test
  void oneOffKeyEnrolsOneNodeWhichLogsInAgainWithItsNodeKey() {
    start(60_000);
    tailnet("demo", true, 443);
    String key = key("demo", false);
    TestNode web = new TestNode();
    NodeSession first = await(login(web.login(key, "web", List.of(443), "gw1")));

    assertThat(failureCode(login(new TestNode().login(key, "api", List.of(443), "gw1"))))
        .as("the used key with another node key").isEqualTo(LoginFailure.BAD_KEY.code());

    NodeSession again = await(login(web.login(key, "web", List.of(443), "gw1")));
    assertThat(again.nodeId()).isEqualTo(first.nodeId());
    assertThat(again.epoch()).isGreaterThan(first.epoch());
    NodeSession noKey = await(login(web.login(null, "web", List.of(443), "gw1")));
    assertThat(noKey.nodeId()).as("no auth key needed with a known node key").isEqualTo(first.nodeId());

    Throwable renamed = awaitFailure(login(web.login(null, "other", List.of(443), "gw1")));
    assertThat(dev.funnel.common.bus.FailureCode.of(renamed)).contains(LoginFailure.BAD_REQUEST.code());
    assertThat(renamed).hasMessageContaining("web.demo");

    List<AuthKeyInfo> keys = await(service.keys());
    assertThat(keys).singleElement().extracting(AuthKeyInfo::usedAt).isNotNull();
  }

  @Test
  void aNodesCertificateExpiryFromItsGatewayShowsInTheNodeList() throws Exception {
    start(60_000);
    NodeSession web = webOnline(new TestNode());
    assertThat(service.nodes().get(0).certNotAfter()).as("unknown until reported").isNull();
    long notAfter = java.time.Instant.now().plus(Duration.ofDays(30)).plusSeconds(60).getEpochSecond();
    vertx.eventBus().publish(Addresses.NODE_CERT, new dev.funnel.common.bus.NodeCertReport("no-such-node", notAfter));
    vertx.eventBus().publish(Addresses.NODE_CERT, new dev.funnel.common.bus.NodeCertReport(web.nodeId(), notAfter));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TestSupport.WAIT_SECONDS);
    while (service.nodes().get(0).certNotAfter() == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    NodeView view = service.nodes().get(0);
    assertThat(view.certNotAfter()).isEqualTo(java.time.Instant.ofEpochSecond(notAfter));
    assertThat(view.certDaysLeft(java.time.Instant.now())).isEqualTo(30);
    io.vertx.core.json.JsonObject json = AdminNodeRoutes.json(view);
    assertThat(json.getLong("certificateDaysLeft")).isEqualTo(30);
    assertThat(json.getString("certificateExpiresAt")).isEqualTo(java.time.Instant.ofEpochSecond(notAfter).toString());
    assertThat(service.nodes()).hasSize(1);
  }

  @Test
  void aOneOffKeyRacedByManyNodesEnrolsExactlyOne() {
    start(60_000);
    tailnet("demo", true, 443);
    String key = key("demo", false);
    List<Future<NodeSession>> attempts = new java.util.ArrayList<>();
    for (int i = 0; i < 16; i++) {
      attempts.add(login(new TestNode().login(key, "n" + i, List.of(443), "gw1")));
    }
    await(Future.join(attempts).otherwiseEmpty()); // join waits for every attempt, whatever each outcome
    assertThat(attempts.stream().filter(Future::succeeded).count()).isEqualTo(1);
    assertThat(attempts.stream().filter(Future::failed).map(f -> dev.funnel.common.bus.FailureCode.of(f.cause()))
        .distinct().toList()).containsExactly(java.util.Optional.of(LoginFailure.BAD_KEY.code()));
    assertThat(service.nodes()).hasSize(1);
  }

  @Test
  void reusableKeyEnrolsManyNodes() {
    start(60_000);
    tailnet("demo", true, 443);
    String key = key("demo", true);
    NodeSession a = await(login(new TestNode().login(key, "a", List.of(443), "gw1")));
    NodeSession b = await(login(new TestNode().login(key, "b", List.of(443), "gw1")));
    assertThat(a.nodeId()).isNotEqualTo(b.nodeId());
    assertThat(List.of(a.fqdn(), b.fqdn())).containsExactly("a.demo." + DOMAIN, "b.demo." + DOMAIN);
    assertThat(await(service.keys())).singleElement().extracting(AuthKeyInfo::usedAt).isNull();
  }

  @Test
  void expiredUnknownAndRevokedKeysAreRefused() {
    start(60_000);
    tailnet("demo", true, 443);
    // An expired key, written straight into the store (a second handle on the same H2 database).
    String expired = Secrets.newAuthKey();
    try (H2ControlStore side = H2ControlStore.open(state)) {
      Instant past = Instant.now().minus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MILLIS);
      side.insertKey(new AuthKeyInfo("kexpired", "demo", true, past.plusSeconds(60), null, null, past),
          Secrets.hash(expired));
    }
    assertThat(failureCode(login(new TestNode().login(expired, "a", List.of(443), "gw1"))))
        .isEqualTo(LoginFailure.BAD_KEY.code());
    assertThat(failureCode(login(new TestNode().login(Secrets.newAuthKey(), "a", List.of(443), "gw1"))))
        .as("unknown key").isEqualTo(LoginFailure.BAD_KEY.code());
    assertThat(failureCode(login(new TestNode().login(null, "a", List.of(443), "gw1"))))
        .as("no key, unknown node key").isEqualTo(LoginFailure.BAD_KEY.code());

    RegistryService.NewKey revoked = await(service.createKey("demo", true, Duration.ofHours(1)));
    TestNode early = new TestNode();
    await(login(early.login(revoked.key(), "early", List.of(443), "gw1")));
    await(service.revokeKey(revoked.info().id()));
    assertThat(failureCode(login(new TestNode().login(revoked.key(), "late", List.of(443), "gw1"))))
        .as("revoked key, new node").isEqualTo(LoginFailure.BAD_KEY.code());
    assertThat(failureCode(login(early.login(null, "early", List.of(443), "gw1"))))
        .as("node enrolled with a revoked key").isEqualTo(LoginFailure.BAD_KEY.code());
  }

  @Test
  void aNodeWhoseKeyWasRevokedEnrolsAgainWithANewKeyOfItsTailnetOnly() {
    start(60_000);
    tailnet("demo", true, 443);
    tailnet("other", true, 443);
    RegistryService.NewKey first = await(service.createKey("demo", true, Duration.ofHours(1)));
    TestNode web = new TestNode();
    await(login(web.login(first.key(), "web", List.of(443), "gw1")));
    await(service.revokeKey(first.info().id()));

    Throwable noKey = TestSupport.awaitFailure(login(web.login(null, "web", List.of(443), "gw1")));
    assertThat(noKey.getMessage()).as("says the fix")
        .contains("the auth key " + first.info().id() + " this node (web.demo) enrolled with was revoked")
        .contains("start it with a new --authkey of tailnet demo").contains("funnel admin node rm web.demo");
    Throwable sameKey = TestSupport.awaitFailure(login(web.login(first.key(), "web", List.of(443), "gw1")));
    assertThat(sameKey.getMessage()).contains("cannot enrol it again (auth key " + first.info().id() + " was revoked)");
    Throwable otherTailnet = TestSupport.awaitFailure(login(web.login(key("other", false), "web", List.of(443),
        "gw1")));
    assertThat(FailureCode.of(otherTailnet)).contains(LoginFailure.BAD_KEY.code());
    assertThat(otherTailnet.getMessage()).contains("is of tailnet other, not demo");
    assertThat(await(service.keys())).filteredOn(k -> k.tailnet().equals("other")).singleElement()
        .extracting(AuthKeyInfo::usedAt).as("a refused key stays unused").isNull();

    RegistryService.NewKey fresh = await(service.createKey("demo", false, null));
    NodeSession again = await(login(web.login(fresh.key(), "web", List.of(443), "gw1")));
    assertThat(again.fqdn()).isEqualTo("web.demo." + DOMAIN);
    assertThat(await(service.keys())).filteredOn(k -> k.id().equals(fresh.info().id())).singleElement()
        .extracting(AuthKeyInfo::usedAt).as("the one-off key is used").isNotNull();
    assertThat(await(login(web.login(null, "web", List.of(443), "gw2"))).fqdn())
        .as("from now on by its node key alone").isEqualTo("web.demo." + DOMAIN);
    assertThat(failureCode(login(new TestNode().login(fresh.key(), "api", List.of(443), "gw1"))))
        .as("the one-off key enrols no second node").isEqualTo(LoginFailure.BAD_KEY.code());
  }

  @Test
  void aRemovedNodeIsToldWhyAnAuthKeyIsNeeded() {
    start(60_000);
    tailnet("demo", true, 443);
    TestNode web = new TestNode();
    await(login(web.login(key("demo", true), "web", List.of(443), "gw1")));
    await(service.deleteNode("web", "demo"));
    Throwable refused = TestSupport.awaitFailure(login(web.login(null, "web", List.of(443), "gw1")));
    assertThat(FailureCode.of(refused)).contains(LoginFailure.BAD_KEY.code());
    assertThat(refused.getMessage()).contains("an auth key is required for a new node")
        .contains("it was removed, alone or with its tailnet");
  }

  @Test
  void aSecondNodeKeyCannotTakeAnOwnedName() {
    start(60_000);
    tailnet("demo", true, 443);
    String key = key("demo", true);
    await(login(new TestNode().login(key, "web", List.of(443), "gw1")));
    Throwable taken = awaitFailure(login(new TestNode().login(key, "web", List.of(443), "gw2")));
    assertThat(dev.funnel.common.bus.FailureCode.of(taken)).contains(LoginFailure.NAME_TAKEN.code());
    assertThat(taken).hasMessageContaining("web.demo is already owned by another node");
  }

  @Test
  void badProofAndMalformedLoginsAreRefused() {
    start(60_000);
    tailnet("demo", true, 443);
    String key = key("demo", false);
    TestNode node = new TestNode();
    String challenge = UUID.randomUUID().toString();
    NodeLogin forged = new NodeLogin(key, "web", List.of(443), "gw1", node.publicKey(), challenge,
        new TestNode().sign(challenge));
    assertThat(failureCode(login(forged))).isEqualTo(LoginFailure.BAD_NODE_KEY.code());
    NodeLogin wrongChallenge = new NodeLogin(key, "web", List.of(443), "gw1", node.publicKey(), challenge,
        node.sign("another"));
    assertThat(failureCode(login(wrongChallenge))).isEqualTo(LoginFailure.BAD_NODE_KEY.code());

    int bad = LoginFailure.BAD_REQUEST.code();
    assertThat(failureCode(login(node.login(key, "Web_1", List.of(443), "gw1")))).as("hostname").isEqualTo(bad);
    assertThat(failureCode(login(node.login(key, "web", List.of(80), "gw1")))).as("port").isEqualTo(bad);
    assertThat(failureCode(login(new NodeLogin(key, "web", List.of(443), "gw1", null, "c", "p"))))
        .as("no node key").isEqualTo(bad);
    assertThat(failureCode(login(new NodeLogin(key, "web", List.of(443), "gw1", node.publicKey(), challenge, null))))
        .as("no proof").isEqualTo(bad);
    assertThat(await(service.keys())).singleElement().extracting(AuthKeyInfo::usedAt)
        .as("refused logins leave the one-off key unused").isNull();
    assertThat(await(login(node.login(key, "web", List.of(443), "gw1"))).fqdn()).isEqualTo(WEB);
  }

  @Test
  void loginSentAsPlainJsonIsUnderstood() {
    start(60_000);
    tailnet("demo", true, 443);
    JsonObject json = new TestNode().login(key("demo", false), "web", List.of(443), "gw1").toJson();
    NodeSession session = await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN, json).map(Message::body));
    assertThat(session.fqdn()).isEqualTo(WEB);
  }

  // ------------------------------------------------------------ leases and sessions

  @Test
  void lapsedLeaseWithdrawsTheRouteAndPublishesTheChange() throws Exception {
    start(300);
    webOnline(new TestNode());
    assertThat(nextRouteChange(WEB)).as("login publishes").isNotNull();
    assertThat(await(resolve(WEB, 443)).host()).isEqualTo(WEB);
    // Nobody renews: the sweep withdraws the route and says so.
    assertThat(nextRouteChange(WEB)).isNotNull();
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.NO_ROUTE.code());
    assertThat(service.sessionCount()).isZero();
  }

  @Test
  void renewExtendsAKnownLeaseAndRefusesAnUnknownOne() {
    start(60_000);
    NodeSession s = webOnline(new TestNode());
    LeaseRenewal.Ack ack = await(vertx.eventBus().<LeaseRenewal.Ack>request(Addresses.REGISTRY_RENEW,
        new LeaseRenewal(s.nodeId(), "gw1", s.epoch())).map(Message::body));
    assertThat(ack.expiresAtMillis()).isGreaterThan(System.currentTimeMillis() + 30_000);

    int unknown = LoginFailure.LEASE_UNKNOWN.code();
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_RENEW,
        new LeaseRenewal(s.nodeId(), "gw1", s.epoch() + 1)))).as("other epoch").isEqualTo(unknown);
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_RENEW,
        new LeaseRenewal(s.nodeId(), "gw2", s.epoch())))).as("other gateway").isEqualTo(unknown);
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_RENEW,
        new LeaseRenewal("nope", "gw1", s.epoch())))).as("other node").isEqualTo(unknown);
  }

  @Test
  void sessionClosedWithdrawsOnlyTheMatchingEpoch() throws Exception {
    start(60_000);
    NodeSession s = webOnline(new TestNode());
    nextRouteChange(WEB);
    Message<Object> stale = await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED,
        new SessionClosed(s.nodeId(), "gw1", s.epoch() - 1)));
    assertThat(stale.body()).isNull();
    assertThat(await(resolve(WEB, 443)).epoch()).as("stale epoch ignored").isEqualTo(s.epoch());

    Message<Object> closed = await(vertx.eventBus().request(Addresses.REGISTRY_SESSION_CLOSED,
        new SessionClosed(s.nodeId(), "gw1", s.epoch())));
    assertThat(closed.body()).isNull();
    assertThat(nextRouteChange(WEB)).isNotNull();
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.NO_ROUTE.code());
  }

  @Test
  void portsUpdateChangesWhatIsRouted() throws Exception {
    start(60_000);
    NodeSession s = webOnline(new TestNode());
    nextRouteChange(WEB);
    NodeSession updated = await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_PORTS,
        new PortsUpdate(s.nodeId(), "gw1", s.epoch(), List.of(8443))).map(Message::body));
    assertThat(updated.ports()).containsExactly(8443);
    assertThat(updated.epoch()).isEqualTo(s.epoch());
    assertThat(nextRouteChange(WEB)).isNotNull();
    assertThat(await(resolve(WEB, 8443)).nodeId()).isEqualTo(s.nodeId());
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.PORT_NOT_ALLOWED.code());

    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_PORTS,
        new PortsUpdate(s.nodeId(), "gw1", s.epoch(), List.of(22))))).isEqualTo(LoginFailure.BAD_REQUEST.code());
    assertThat(failureCode(vertx.eventBus().request(Addresses.REGISTRY_PORTS,
        new PortsUpdate(s.nodeId(), "gw9", s.epoch(), List.of(443))))).isEqualTo(LoginFailure.LEASE_UNKNOWN.code());
  }

  // ------------------------------------------------------------ admin changes seen on the bus

  @Test
  void removingANodeKicksItAndFreesTheName() throws Exception {
    start(60_000);
    TestNode web = new TestNode();
    NodeSession s = webOnline(web);
    await(service.deleteNode("web", "demo"));
    assertThat(nextKick().nodeId()).isEqualTo(s.nodeId());
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.NO_ROUTE.code());
    assertThat(service.sessionCount()).isZero();
    // The name is free: another node key may enrol it.
    NodeSession other = await(login(new TestNode().login(key("demo", false), "web", List.of(443), "gw1")));
    assertThat(other.nodeId()).isNotEqualTo(s.nodeId());
  }

  @Test
  void revokingAKeyKicksItsNodes() throws Exception {
    start(60_000);
    tailnet("demo", true, 443);
    RegistryService.NewKey key = await(service.createKey("demo", true, null));
    NodeSession a = await(login(new TestNode().login(key.key(), "a", List.of(443), "gw1")));
    NodeSession b = await(login(new TestNode().login(key.key(), "b", List.of(443), "gw2")));
    NodeSession keep = await(login(new TestNode().login(key("demo", false), "c", List.of(443), "gw1")));
    await(service.revokeKey(key.info().id()));
    assertThat(List.of(nextKick().nodeId(), nextKick().nodeId())).containsExactlyInAnyOrder(a.nodeId(), b.nodeId());
    assertThat(kicks).isEmpty();
    assertThat(resolveFailure(a.fqdn(), 443)).isEqualTo(ResolveFailure.NO_ROUTE.code());
    assertThat(resolveFailure(b.fqdn(), 443)).isEqualTo(ResolveFailure.NO_ROUTE.code());
    assertThat(await(resolve(keep.fqdn(), 443)).nodeId()).isEqualTo(keep.nodeId());
  }

  @Test
  void tailnetChangesApplyAtOnce() throws Exception {
    start(60_000);
    NodeSession s = webOnline(new TestNode());
    await(service.updateTailnet("demo", false, null));
    assertThat(nextRouteChange(null)).isEqualTo(RouteChanged.ALL);
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.FUNNEL_OFF.code());
    await(service.updateTailnet("demo", true, Set.of(8443)));
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.PORT_NOT_ALLOWED.code());

    await(service.deleteTailnet("demo"));
    assertThat(nextKick().nodeId()).isEqualTo(s.nodeId());
    assertThat(resolveFailure(WEB, 443)).isEqualTo(ResolveFailure.NO_ROUTE.code());
    assertThat(service.nodes()).isEmpty();
  }

  @Test
  void stateSurvivesARestartButLiveRoutesDoNot() {
    start(60_000);
    TestNode web = new TestNode();
    NodeSession before = webOnline(web);
    await(service.close());
    service = null;
    await(vertx.undeploy(vertx.deploymentIDs().iterator().next()));

    start(60_000);
    assertThat(resolveFailure(WEB, 443)).as("no live session after restart").isEqualTo(ResolveFailure.NO_ROUTE.code());
    NodeSession after = await(login(web.login(null, "web", List.of(443), "gw1")));
    assertThat(after.nodeId()).isEqualTo(before.nodeId());
    assertThat(after.epoch()).as("epochs keep rising across restarts").isGreaterThan(before.epoch());
    assertThat(await(resolve(WEB, 443)).nodeId()).isEqualTo(before.nodeId());
  }
}
