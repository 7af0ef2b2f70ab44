package dev.funnel.terminator.gate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeFlags;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class GateChainTest {

  private Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private GateContext context() {
    return new GateContext(vertx, Router.router(vertx), 443, "/", Set.of("web.demo.funnel.localhost"),
        new ConcurrentHashMap<>(), GateDecisions.NONE);
  }

  /** A factory per step that records which step made the handler it returns. */
  private static Map<GateChain.Step, GateFactory> naming(List<String> made) {
    Map<GateChain.Step, GateFactory> out = new EnumMap<>(GateChain.Step.class);
    for (GateChain.Step s : GateChain.Step.values()) {
      out.put(s, (policy, ctx) -> {
        made.add(s.rule);
        Handler<RoutingContext> h = RoutingContext::next;
        return Future.succeededFuture(h);
      });
    }
    return out;
  }

  private static GatePolicy everything() {
    GatePolicy p = GatePolicy.NONE;
    p = ServeFlags.rule(p, "max-concurrent", "4");
    p = ServeFlags.rule(p, "verify", "github:/nonexistent");
    p = ServeFlags.rule(p, "max-body", "1m");
    p = ServeFlags.rule(p, "auth", "oidc");
    p = ServeFlags.rule(p, "rate-limit", "20/s");
    p = ServeFlags.rule(p, "allow-cidr", "10.0.0.0/8");
    return p;
  }

  @Test
  void noPolicyNoHandlers() throws Exception {
    List<Handler<RoutingContext>> chain = new GateChain(Map.of()).build(GatePolicy.NONE, context())
        .await(5, TimeUnit.SECONDS);
    assertThat(chain).isEmpty();
  }

  @Test
  void stepsRunInTheirOrderWhateverTheFlagsOrder() throws Exception {
    List<String> made = new ArrayList<>();
    List<Handler<RoutingContext>> chain = new GateChain(naming(made)).build(everything(), context())
        .await(5, TimeUnit.SECONDS);
    assertThat(chain).hasSize(6);
    assertThat(made).containsExactly("cidr", "rate-limit", "auth", "max-body", "verify", "max-concurrent");
  }

  @Test
  void aRuleNoFactoryEnforcesIsRefusedNotSkipped() {
    Future<List<Handler<RoutingContext>>> built = new GateChain(Map.of())
        .build(ServeFlags.rule(GatePolicy.NONE, "rate-limit", "20/s"), context());
    assertThat(built.failed()).isTrue();
    assertThat(built.cause()).hasMessageContaining("cannot enforce [rate-limit]");
  }

  @Test
  void authOffAsksForNothing() {
    assertThat(new GateChain(Map.of()).unsupported(ServeFlags.rule(GatePolicy.NONE, "auth", "off"))).isEmpty();
  }

  @Test
  void aFailingFactoryFailsTheChain() {
    Map<GateChain.Step, GateFactory> f = new EnumMap<>(GateChain.Step.class);
    f.put(GateChain.Step.VERIFY, (policy, ctx) -> Future.failedFuture("cannot read the secret"));
    Future<List<Handler<RoutingContext>>> built = new GateChain(f)
        .build(ServeFlags.rule(GatePolicy.NONE, "verify", "github:/x"), context());
    assertThat(built.failed()).isTrue();
  }

  @Test
  void sharedStateIsPerPortAndRoute() {
    GateContext a = context();
    GateContext b = new GateContext(vertx, Router.router(vertx), 443, "/api", a.serverNames(), a.sharedState(),
        GateDecisions.NONE);
    Object x = a.shared("bucket", Object::new);
    assertThat(a.shared("bucket", Object::new)).isSameAs(x);
    assertThat(b.shared("bucket", Object::new)).isNotSameAs(x);
  }
}
