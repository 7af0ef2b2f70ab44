package dev.funnel.terminator.gate;

import dev.funnel.common.serve.GatePolicy;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Turns a route's effective {@link GatePolicy} into the ordered handlers a request passes before
 * the route's target. Each rule is enforced by the {@link GateFactory} registered for its
 * {@link Step}; the steps run in the order of the enum:
 *
 * <ol>
 *   <li>{@link Step#NETWORK} — deny/allow CIDRs on the public client's address (the edge's word, from
 *       the PROXY header: {@link ClientAddress}); cheapest, and needs nothing from the request;</li>
 *   <li>{@link Step#RATE_LIMIT} — per client address, before any login so guessing passwords is limited too;</li>
 *   <li>{@link Step#AUTH} — the login (OIDC, basic, bearer); a redirect to the provider needs no body;</li>
 *   <li>{@link Step#BODY_CAP} — before anything reads the body;</li>
 *   <li>{@link Step#VERIFY} — webhook signatures: reads the body (bounded by the cap) and leaves it
 *       under {@link #BUFFERED_BODY}, which the proxy then sends instead of the request stream;</li>
 *   <li>{@link Step#CONCURRENCY} — last, so it counts only requests that will reach the target.</li>
 * </ol>
 *
 * <p>Fail closed: a policy that asks for a rule no factory is registered for makes {@link #build}
 * fail, and the route is not served (at start the node does not start; at run time the change is
 * refused and the old router stays). A policy that asks for nothing gives an empty list.
 */
public final class GateChain {

  /**
   * {@link RoutingContext} key: a {@link io.vertx.core.buffer.Buffer} holding the whole request
   * body, put there by a gate that had to read it. When present, an {@code http://} target sends
   * exactly these bytes (with a {@code Content-Length}) instead of streaming the request, which has
   * been consumed. Other targets ignore it.
   */
  public static final String BUFFERED_BODY = "funnel.gate.buffered-body";

  /** The steps of a chain, in the order they run; {@link #rule} is the metric label and flag name. */
  public enum Step {
    NETWORK("cidr", p -> !p.allowCidrs().isEmpty() || !p.denyCidrs().isEmpty()),
    RATE_LIMIT("rate-limit", p -> p.rateLimit() != null),
    AUTH("auth", p -> p.auth() != null && p.auth().kind() != GatePolicy.Auth.Kind.OFF),
    BODY_CAP("max-body", p -> p.maxBodyBytes() > 0),
    VERIFY("verify", p -> p.verify() != null),
    CONCURRENCY("max-concurrent", p -> p.maxConcurrent() > 0);

    /** Bounded label for {@code funnel_node_gate_decisions_total{rule}}. */
    public final String rule;
    private final Predicate<GatePolicy> asks;

    Step(String rule, Predicate<GatePolicy> asks) {
      this.rule = rule;
      this.asks = asks;
    }

    /** True when {@code policy} asks for this step's rule. */
    public boolean asks(GatePolicy policy) {
      return asks.test(policy);
    }
  }

  private final Map<Step, GateFactory> factories;

  /** A chain builder with these factories (a step without one cannot be asked for). */
  public GateChain(Map<Step, GateFactory> factories) {
    this.factories = new EnumMap<>(Step.class);
    this.factories.putAll(factories);
  }

  /** The factories this build of Funnel ships ({@link Gates#shipped()}). */
  public static GateChain standard() {
    return new GateChain(Gates.shipped());
  }

  /** The factories this build ships, the login gate with the node's login settings ({@link Gates#shipped(dev.funnel.terminator.auth.LoginSettings)}). */
  public static GateChain standard(dev.funnel.terminator.auth.LoginSettings login) {
    return new GateChain(Gates.shipped(login));
  }

  /** The steps {@code policy} asks for that no factory here enforces (empty: it can be served). */
  public List<Step> unsupported(GatePolicy policy) {
    List<Step> out = new ArrayList<>();
    for (Step s : Step.values()) {
      if (s.asks(policy) && !factories.containsKey(s)) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * The handlers for {@code policy}, in {@link Step} order: one per step the policy asks for, from
   * that step's factory. Empty when the policy asks for nothing. Fails when a step has no factory
   * (message names the rule) or a factory fails.
   */
  public Future<List<Handler<RoutingContext>>> build(GatePolicy policy, GateContext context) {
    List<Step> missing = unsupported(policy);
    if (!missing.isEmpty()) {
      return Future.failedFuture(new IllegalArgumentException("port " + context.publicPort() + " " + context.routePath()
          + ": this build of Funnel cannot enforce " + missing.stream().map(s -> s.rule).toList()
          + "; refusing to serve the route without it"));
    }
    List<Future<Handler<RoutingContext>>> made = new ArrayList<>();
    for (Step s : Step.values()) {
      if (s.asks(policy)) {
        made.add(factories.get(s).create(policy, context));
      }
    }
    return Future.all(made).map(all -> {
      List<Handler<RoutingContext>> out = new ArrayList<>();
      made.forEach(f -> out.add(f.result()));
      return List.copyOf(out);
    });
  }
}
