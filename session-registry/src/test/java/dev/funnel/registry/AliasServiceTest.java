package dev.funnel.registry;

import static dev.funnel.registry.TestSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.AliasStatus;
import dev.funnel.common.bus.NodeSession;
import dev.funnel.common.bus.VerifiedAliases;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.store.AliasRecord;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What frontends are told to route: a verified alias of a known node in a tailnet with Funnel on,
 * and nothing else; a tailnet switched off, a removed node or alias, take it out at once (and say so
 * on {@code ALIASES_CHANGED}). Real registry over the embedded store; no resolver (checks are
 * {@code AliasCheck}'s and AliasIT's).
 */
@ExtendWith(VertxExtension.class)
@Timeout(30)
class AliasServiceTest {

  static final String DOMAIN = "funnel.example";

  @TempDir
  Path state;

  private Vertx vertx;
  private RegistryService service;
  private final BlockingQueue<VerifiedAliases> published = new LinkedBlockingQueue<>();

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    TestSupport.registerCodecs(vertx);
    RegistryOptions options = new RegistryOptions().setStateDir(state).setDomain(DOMAIN);
    service = await(RegistryService.open(vertx, options));
    await(vertx.deployVerticle(new RegistryVerticle(options, service)));
    await(vertx.eventBus().<VerifiedAliases>consumer(Addresses.ALIASES_CHANGED, m -> published.add(m.body())).completion());
  }

  @AfterEach
  void tearDown() {
    await(service.close());
  }

  @Test
  void onlyAVerifiedAliasOfANodeInATailnetWithFunnelOnIsRouted() throws Exception {
    await(service.createTailnet("demo", true, Set.of(443)));
    String key = await(service.createKey("demo", true, null)).key();
    NodeSession web = await(vertx.eventBus().<NodeSession>request(Addresses.REGISTRY_LOGIN,
        new TestSupport.TestNode().login(key, "web", List.of(443), "gw1")).map(Message::body));
    await(service.aliases().add("demo", "web", "blog.example.com"));
    await(service.aliases().add("demo", "web", "shop.example.com"));
    assertThat(service.aliases().verified().targets()).as("pending: not routed").isEmpty();
    assertThat(await(vertx.eventBus().<VerifiedAliases>request(Addresses.REGISTRY_ALIASES, "").map(Message::body))
        .targets()).isEmpty();

    // A check proved blog (as another registry sharing the store would have recorded it).
    markVerified("blog.example.com");
    Map<String, String> routed = Map.of("blog.example.com", "web.demo." + DOMAIN);
    assertThat(service.aliases().verified().targets()).isEqualTo(routed);
    assertThat(nextPublished()).isEqualTo(routed);
    assertThat(await(vertx.eventBus().<VerifiedAliases>request(Addresses.REGISTRY_ALIASES, "").map(Message::body))
        .targets()).isEqualTo(routed);
    AliasStatus status = await(vertx.eventBus().<AliasStatus>request(Addresses.REGISTRY_NODE_ALIASES, web.nodeId())
        .map(Message::body));
    assertThat(status.aliases()).extracting(a -> a.alias() + " " + a.state().label())
        .containsExactly("blog.example.com verified", "shop.example.com pending");

    // Funnel off for the tailnet: out at once, before any check.
    await(service.updateTailnet("demo", false, null));
    assertThat(nextPublished()).isEmpty();
    await(service.updateTailnet("demo", true, null));
    assertThat(nextPublished()).isEqualTo(routed);

    // Removing the alias, or its node, takes it out too.
    await(service.aliases().remove("blog.example.com", null, null));
    assertThat(nextPublished()).isEmpty();
    markVerified("shop.example.com");
    assertThat(nextPublished()).containsKey("shop.example.com");
    await(service.deleteNode("web", "demo"));
    assertThat(nextPublished()).isEmpty();
    assertThat(service.aliases().list()).isEmpty();
  }

  private void markVerified(String alias) {
    await(vertx.executeBlocking(() -> {
      AliasRecord stored = service.store().aliases().stream().filter(a -> a.alias().equals(alias)).findFirst().orElseThrow();
      service.store().updateAlias(stored.withCheck(AliasRecord.VERIFIED, "TXT and CNAME found", Instant.now()));
      service.aliases().reloadBlocking();
      return null;
    }));
  }

  private Map<String, String> nextPublished() throws InterruptedException {
    VerifiedAliases next = published.poll(TestSupport.WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(next).as("a publication on ALIASES_CHANGED").isNotNull();
    return next.targets();
  }
}
