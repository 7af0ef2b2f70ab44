package dev.funnel.terminator.gate;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.NetworkRule;
import dev.funnel.common.gate.Rate;
import dev.funnel.common.gate.RateLimiter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The network and webhook gate of one route (public port and path prefix), built once per serve
 * config and shared by every event loop serving the route (the rate buckets and the in-flight
 * count are per route, not per loop). The handlers run in this order, cheapest refusal first:
 * CIDR lists ({@code 403}), rate limit ({@code 429}), body cap on {@code Content-Length}
 * ({@code 413}), webhook signature ({@code 401}; reads the body), concurrency cap ({@code 503},
 * held until the exchange ends). A login gate, when the route has one, goes after the rate limit.
 */
public final class GateChain {

  /**
   * What a route's gate checks. Empty lists, and null for the rest, mean "not set".
   *
   * @param maxBodyBytes  cap on the request body
   * @param maxConcurrent cap on requests in flight to the backend
   * @param webhook       the signature a delivery must carry
   */
  public record Policy(NetworkRule network, Rate rate, Long maxBodyBytes, Integer maxConcurrent,
                       WebhookSignature webhook) {
    public static final Policy NONE = new Policy(NetworkRule.NONE, null, null, null, null);

    public Policy {
      Objects.requireNonNull(network, "network");
    }

    public boolean isEmpty() {
      return network.isEmpty() && rate == null && maxBodyBytes == null && maxConcurrent == null && webhook == null;
    }
  }

  private final Policy policy;
  private final GateDecisions decisions;
  private final List<Handler<RoutingContext>> before;
  private final List<Handler<RoutingContext>> after;
  private final ConcurrencyCap concurrency;

  private GateChain(Policy policy, GateDecisions decisions, List<Handler<RoutingContext>> before,
                    List<Handler<RoutingContext>> after, ConcurrencyCap concurrency) {
    this.policy = policy;
    this.decisions = decisions;
    this.before = List.copyOf(before);
    this.after = List.copyOf(after);
    this.concurrency = concurrency;
  }

  /** The chain for {@code policy}; {@code where} names the route in logs ({@code "port 443 path /hooks/"}). */
  public static GateChain build(String where, Policy policy, MeterRegistry registry, Clock clock) {
    GateDecisions decisions = new GateDecisions(registry, where);
    List<Handler<RoutingContext>> before = new ArrayList<>();
    List<Handler<RoutingContext>> after = new ArrayList<>();
    if (!policy.network().isEmpty()) {
      before.add(new NetworkGate(policy.network(), decisions));
    }
    if (policy.rate() != null) {
      before.add(new RateGate(new RateLimiter(policy.rate()), decisions));
    }
    if (policy.maxBodyBytes() != null) {
      after.add(new BodyCap(policy.maxBodyBytes(), decisions));
    }
    if (policy.webhook() != null) {
      long bound = policy.maxBodyBytes() == null ? WebhookGate.DEFAULT_MAX_BODY_BYTES
          : Math.min(policy.maxBodyBytes(), WebhookGate.DEFAULT_MAX_BODY_BYTES);
      after.add(new WebhookGate(policy.webhook(), bound, decisions, clock));
    }
    ConcurrencyCap concurrency = null;
    if (policy.maxConcurrent() != null) {
      concurrency = new ConcurrencyCap(policy.maxConcurrent(), decisions);
      after.add(concurrency);
    }
    return new GateChain(policy, decisions, before, after, concurrency);
  }

  /** The handlers that go before a login gate (network rules and rate limit), in order. */
  public List<Handler<RoutingContext>> beforeLogin() {
    return before;
  }

  /** The handlers that go after a login gate and before the target, in order. */
  public List<Handler<RoutingContext>> afterLogin() {
    return after;
  }

  /** All handlers in order, for a route without a login gate. */
  public List<Handler<RoutingContext>> handlers() {
    List<Handler<RoutingContext>> all = new ArrayList<>(before);
    all.addAll(after);
    return all;
  }

  public Policy policy() {
    return policy;
  }

  public GateDecisions decisions() {
    return decisions;
  }

  /** This route's decisions so far ({@code rule/outcome → count}). */
  public Map<String, Long> tallies() {
    return decisions.tallies();
  }

  /** Requests in flight to the backend now, when the route caps them; -1 otherwise. */
  public int inFlight() {
    return concurrency == null ? -1 : concurrency.inFlight();
  }

  /** The rules in the words of the flags, e.g. {@code "allow-cidr 10.0.0.0/8; rate-limit 20/s; verify github"}. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    if (!policy.network().allow().isEmpty()) {
      parts.add("allow-cidr " + policy.network().allow());
    }
    if (!policy.network().deny().isEmpty()) {
      parts.add("deny-cidr " + policy.network().deny());
    }
    if (policy.rate() != null) {
      parts.add("rate-limit " + policy.rate());
    }
    if (policy.maxBodyBytes() != null) {
      parts.add("max-body " + policy.maxBodyBytes());
    }
    if (policy.webhook() != null) {
      parts.add("verify " + policy.webhook().kind());
    }
    if (policy.maxConcurrent() != null) {
      parts.add("max-concurrent " + policy.maxConcurrent());
    }
    return String.join("; ", parts);
  }
}
