package dev.funnel.dns.push;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsChallenge;
import dev.funnel.common.bus.Messages;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.common.bus.RoutableNames;
import dev.funnel.common.bus.RouteChanged;
import dev.funnel.common.bus.SessionWithdrawn;
import dev.funnel.dns.DnsOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * The pusher against a real primary, Knot DNS started by the test ({@link Knot}), with a stand-in
 * registry on the event bus. Checks what Knot then answers to plain queries.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsPushVerticleTest {

  static final String DOMAIN = "funnel.test";
  static final String WEB = "web.demo." + DOMAIN;
  static final String API = "api.demo." + DOMAIN;
  static final long WAIT_MILLIS = 15_000;

  @TempDir
  Path dir;

  private Vertx vertx;
  private Knot knot;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<NameStatus> routable = new CopyOnWriteArrayList<>();
  private final AtomicInteger listed = new AtomicInteger();
  private MessageConsumer<Object> registry;

  @BeforeEach
  void setUp() throws Exception {
    assumeTrue(Knot.binary() != null, "knotd is not installed (Debian: apt-get install knot; .ci/run installs it)");
    knot = Knot.start(dir.resolve("knot"), DOMAIN,
        "www 300 A 192.0.2.80",
        "stale.demo 60 A 192.0.2.99",
        "_acme-challenge.old.demo 60 TXT \"left-over\"");
    vertx = Vertx.vertx();
    Messages.registerCodecs(vertx.eventBus());
    registry = vertx.eventBus().consumer(Addresses.REGISTRY_ROUTABLE, m -> {
      listed.incrementAndGet();
      m.reply(new RoutableNames(List.copyOf(routable)));
    });
    registry.completion().await();
    routable.add(new NameStatus(WEB, NameStatus.Kind.ROUTABLE, "gw-eu"));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (vertx != null) {
      vertx.close().await();
    }
    if (knot != null) {
      knot.close();
    }
  }

  static DnsOptions dnsOptions() {
    return new DnsOptions().setDomain(DOMAIN)
        .setFrontends(Map.of("eu", List.of("192.0.2.1", "192.0.2.2", "2001:db8::1"), "us", List.of("198.51.100.1")))
        .setGatewayRegions(Map.of("gw-eu", "eu", "gw-us", "us"));
  }

  private PushOptions pushOptions(String secret) {
    return new PushOptions().setHost("127.0.0.1").setPort(knot.port).setZone(DOMAIN).setTsigName(Knot.KEY)
        .setTsigSecret(secret).setCoalesceMillis(100).setRetryFirstMillis(100).setRetryMaxMillis(500)
        .setUpdateTimeoutMillis(2_000).setTransferTimeoutMillis(5_000);
  }

  private void deploy(PushOptions options) {
    vertx.deployVerticle(new DnsPushVerticle(options, dnsOptions(), meters)).await();
  }

  @Test
  void onStartTheZoneConvergesStaleNamesGoAndTheOperatorsOwnRecordsStay() throws Exception {
    assertThat(ask("stale.demo." + DOMAIN, Type.A)).containsExactly("192.0.2.99");
    deploy(pushOptions(knot.secret));

    until(() -> ask(WEB, Type.A), List.of("192.0.2.1", "192.0.2.2"));
    assertThat(ask(WEB, Type.AAAA)).containsExactly("2001:db8::1");
    assertThat(ask(DOMAIN, Type.CAA)).containsExactly("0 issue \"letsencrypt.org\"");
    until(() -> ask("stale.demo." + DOMAIN, Type.A), List.of());
    assertThat(ask("_acme-challenge.old.demo." + DOMAIN, Type.TXT)).as("a left-over challenge").isEmpty();
    assertThat(ask("www." + DOMAIN, Type.A)).as("not Funnel's").containsExactly("192.0.2.80");
    assertThat(ask(DOMAIN, Type.NS)).containsExactly("ns1.funnel.test.");
    assertThat(count(PushOutcome.PUSHED)).isEqualTo(1);
    assertThat(meters.get("funnel.dns.push.changes").counter().count()).as("A, AAAA, CAA set; A, TXT removed").isEqualTo(5);
  }

  @Test
  void routeChangesArePushedPromptlyAndABurstGoesInFewPushes() throws Exception {
    deploy(pushOptions(knot.secret));
    until(() -> ask(WEB, Type.A), List.of("192.0.2.1", "192.0.2.2"));
    double before = count(PushOutcome.PUSHED) + count(PushOutcome.UNCHANGED);
    int listedBefore = listed.get();

    routable.add(new NameStatus(API, NameStatus.Kind.ROUTABLE, "gw-us"));
    for (int i = 0; i < 50; i++) {
      vertx.eventBus().publish(Addresses.ROUTES_CHANGED, new RouteChanged(API));
    }
    until(() -> ask(API, Type.A), List.of("198.51.100.1"));
    assertThat(ask(API, Type.AAAA)).isEmpty();
    // The push is counted once its answer is read, which may come a moment after Knot serves the record.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (count(PushOutcome.PUSHED) + count(PushOutcome.UNCHANGED) - before < 1 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(count(PushOutcome.PUSHED) + count(PushOutcome.UNCHANGED) - before).as("50 events, few pushes")
        .isBetween(1.0, 5.0);
    assertThat(listed.get() - listedBefore).isBetween(1, 5);

    routable.removeIf(n -> n.name().equals(WEB));
    vertx.eventBus().publish(Addresses.SESSION_WITHDRAWN, new SessionWithdrawn("n1", WEB, "gw-eu", 1));
    until(() -> ask(WEB, Type.A), List.of());
    assertThat(ask(WEB, Type.AAAA)).isEmpty();
    assertThat(ask(API, Type.A)).containsExactly("198.51.100.1");
  }

  @Test
  void challengeValuesComeAndGo() throws Exception {
    deploy(pushOptions(knot.secret));
    until(() -> ask(WEB, Type.A), List.of("192.0.2.1", "192.0.2.2"));
    String name = "_acme-challenge." + WEB;
    vertx.eventBus().publish(Addresses.DNS_CHALLENGE, new DnsChallenge(WEB, "token-1", true));
    vertx.eventBus().publish(Addresses.DNS_CHALLENGE, new DnsChallenge(WEB, "token-2", true));
    until(() -> ask(name, Type.TXT), List.of("\"token-1\"", "\"token-2\""));
    vertx.eventBus().publish(Addresses.DNS_CHALLENGE, new DnsChallenge(WEB, "token-1", false));
    until(() -> ask(name, Type.TXT), List.of("\"token-2\""));
    vertx.eventBus().publish(Addresses.DNS_CHALLENGE, new DnsChallenge(WEB, "token-2", false));
    until(() -> ask(name, Type.TXT), List.of());
  }

  @Test
  void whenThePrimaryIsDownPushesRetryAndTheZoneConvergesWhenItIsBack() throws Exception {
    deploy(pushOptions(knot.secret));
    until(() -> ask(WEB, Type.A), List.of("192.0.2.1", "192.0.2.2"));

    knot.stop();
    routable.clear();
    routable.add(new NameStatus(API, NameStatus.Kind.ROUTABLE, "gw-eu"));
    vertx.eventBus().publish(Addresses.ROUTES_CHANGED, RouteChanged.ALL);
    untilTrue(() -> count(PushOutcome.UNREACHABLE) >= 2);

    knot.restart();
    until(() -> ask(API, Type.A), List.of("192.0.2.1", "192.0.2.2"));
    until(() -> ask(WEB, Type.A), List.of());
    assertThat(ask(WEB, Type.AAAA)).isEmpty();
    assertThat(ask("www." + DOMAIN, Type.A)).containsExactly("192.0.2.80");
  }

  @Test
  void aWrongKeyIsRefusedByThePrimaryAndNothingChanges() throws Exception {
    deploy(pushOptions("b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyMTI="));
    untilTrue(() -> count(PushOutcome.REFUSED) >= 2);
    assertThat(count(PushOutcome.PUSHED)).isZero();
    assertThat(ask(WEB, Type.A)).isEmpty();
    assertThat(ask("stale.demo." + DOMAIN, Type.A)).containsExactly("192.0.2.99");
    assertThat(count(PushOutcome.UNREACHABLE) + count(PushOutcome.REJECTED)).as("Knot answered: NOTAUTH").isZero();
  }

  @Test
  void withoutARegistryNothingIsRemovedAndThePushWaitsForOne() throws Exception {
    registry.unregister().await();
    deploy(pushOptions(knot.secret));
    untilTrue(() -> count(PushOutcome.NO_REGISTRY) >= 2);
    assertThat(ask("stale.demo." + DOMAIN, Type.A)).as("an unknown list is not an empty one").containsExactly("192.0.2.99");
    assertThat(count(PushOutcome.PUSHED)).isZero();

    registry = vertx.eventBus().consumer(Addresses.REGISTRY_ROUTABLE, m -> m.reply(new RoutableNames(List.copyOf(routable))));
    registry.completion().await();
    until(() -> ask(WEB, Type.A), List.of("192.0.2.1", "192.0.2.2"));
    until(() -> ask("stale.demo." + DOMAIN, Type.A), List.of());
  }

  // ------------------------------------------------------------ helpers

  private double count(PushOutcome outcome) {
    return meters.get("funnel.dns.push").tag("outcome", outcome.label()).counter().count();
  }

  /** The answer's data for {@code name}/{@code type} from Knot (empty for NXDOMAIN or NODATA). */
  private List<String> ask(String name, int type) throws Exception {
    SimpleResolver resolver = new SimpleResolver(InetAddress.getLoopbackAddress());
    resolver.setPort(knot.port);
    resolver.setTCP(true);
    resolver.setTimeout(Duration.ofSeconds(5));
    Message answer = resolver.send(Message.newQuery(Record.newRecord(Name.fromConstantString(name + "."), type, DClass.IN)));
    assertThat(answer.getRcode()).isIn(Rcode.NOERROR, Rcode.NXDOMAIN);
    return answer.getSection(Section.ANSWER).stream().filter(r -> r.getType() == type).map(Record::rdataToString)
        .map(s -> s.replace("2001:db8:0:0:0:0:0:1", "2001:db8::1")).sorted().toList();
  }

  private interface Check<T> {
    T get() throws Exception;
  }

  private static <T> void until(Check<T> actual, T expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
    T seen = actual.get();
    while (!expected.equals(seen) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      seen = actual.get();
    }
    assertThat(seen).isEqualTo(expected);
  }

  private static void untilTrue(Supplier<Boolean> check) throws Exception {
    until(check::get, true);
  }
}
