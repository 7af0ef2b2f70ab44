package dev.funnel.common.gate;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Where the node's gate decisions go: one counter, {@code funnel_node_gate_decisions_total{rule,
 * outcome}} (labels from the fixed sets below, never a user, name or address), per-route tallies
 * for {@code funnel node serve list}, and one INFO line per refusal with its reason. Allowed
 * requests are counted but logged only at DEBUG.
 *
 * <p>Refusal lines are limited to {@link #LOG_LINES_PER_SECOND} a second per route, so a flood of
 * refused requests cannot flood the log; the next line that gets through says how many were left
 * out (they are all counted).
 *
 * <p>One instance per gated route (port and path); thread-safe.
 */
public final class GateDecisions {

  /** Micrometer name; Prometheus shows it as {@code funnel_node_gate_decisions_total}. */
  public static final String METER = "funnel.node.gate.decisions";
  public static final int LOG_LINES_PER_SECOND = 10;

  private static final System.Logger LOG = System.getLogger(GateDecisions.class.getName());

  /** The {@code rule} label. */
  public enum Rule {
    CIDR("cidr"), RATE("rate"), BODY("body"), CONCURRENCY("concurrency"), WEBHOOK("webhook");

    public final String label;

    Rule(String label) {
      this.label = label;
    }
  }

  /** The {@code outcome} label: {@code allowed}, or the kind of refusal (the reason's bounded form). */
  public enum Outcome {
    ALLOWED("allowed"),
    /** CIDR lists. */
    DENIED("denied"),
    /** Rate limit: 429 (HTTP) or a refused tunnel (tcp). */
    LIMITED("limited"),
    /** Body cap: 413. */
    TOO_LARGE("too_large"),
    /** Concurrency cap: 503. */
    BUSY("busy"),
    /** Webhook: no signature header (or no timestamp). */
    MISSING_SIGNATURE("missing_signature"),
    /** Webhook: a header that cannot be read. */
    MALFORMED_SIGNATURE("malformed_signature"),
    /** Webhook: signature does not match the body. */
    BAD_SIGNATURE("bad_signature"),
    /** Webhook: timestamp outside the tolerance. */
    STALE_TIMESTAMP("stale_timestamp");

    public final String label;

    Outcome(String label) {
      this.label = label;
    }
  }

  private final MeterRegistry registry;
  private final String where;
  private final LongSupplier nanoClock;
  private final Counter[][] counters = new Counter[Rule.values().length][Outcome.values().length];
  private final Map<String, LongAdder> tallies = new ConcurrentHashMap<>();
  private final Object logLock = new Object();
  private long logWindowStart;
  private int loggedInWindow;
  private long suppressed;

  /** {@code where} names the route in log lines, e.g. {@code "port 443 path /hooks/"}. */
  public GateDecisions(MeterRegistry registry, String where) {
    this(registry, where, System::nanoTime);
  }

  GateDecisions(MeterRegistry registry, String where, LongSupplier nanoClock) {
    this.registry = registry;
    this.where = where;
    this.nanoClock = nanoClock;
    this.logWindowStart = nanoClock.getAsLong();
  }

  /** Registers {@code rule}'s counters at zero, so {@code rate()} sees the first decision. */
  public GateDecisions register(Rule rule, Outcome... outcomes) {
    counter(registry, rule, Outcome.ALLOWED);
    for (Outcome outcome : outcomes) {
      counter(registry, rule, outcome);
    }
    return this;
  }

  /** The counter for one label pair (created on first use). */
  public static Counter counter(MeterRegistry registry, Rule rule, Outcome outcome) {
    return Counter.builder(METER)
        .description("Decisions of the node's gate (CIDR lists, rate limits, body and concurrency caps, webhook "
            + "signatures), by rule and outcome")
        .tag("rule", rule.label)
        .tag("outcome", outcome.label)
        .register(registry);
  }

  /** Counts a request {@code rule} let through. */
  public void allowed(Rule rule) {
    count(rule, Outcome.ALLOWED);
  }

  /**
   * Counts a refusal and logs it once at INFO: route, rule, outcome, {@code reason} and
   * {@code client} (the address goes to the log line only, never to a label).
   */
  public void refused(Rule rule, Outcome outcome, String client, String reason) {
    count(rule, outcome);
    long left;
    synchronized (logLock) {
      long now = nanoClock.getAsLong();
      if (now - logWindowStart >= 1_000_000_000L) {
        logWindowStart = now;
        loggedInWindow = 0;
      }
      if (loggedInWindow >= LOG_LINES_PER_SECOND) {
        suppressed++;
        return;
      }
      loggedInWindow++;
      left = suppressed;
      suppressed = 0;
    }
    LOG.log(Level.INFO, "gate: " + where + ": " + rule.label + " refused " + (client == null ? "a client" : client)
        + " (" + outcome.label + "): " + reason + "; rejecting"
        + (left > 0 ? " (" + left + " more refusals not logged)" : ""));
  }

  private void count(Rule rule, Outcome outcome) {
    Counter counter = counters[rule.ordinal()][outcome.ordinal()];
    if (counter == null) {
      // Registering is idempotent, so a race here only costs a second lookup.
      counter = counter(registry, rule, outcome);
      counters[rule.ordinal()][outcome.ordinal()] = counter;
    }
    counter.increment();
    tallies.computeIfAbsent(rule.label + "/" + outcome.label, k -> new LongAdder()).increment();
  }

  /** This route's decisions so far, {@code "rule/outcome" → count}, sorted (for {@code serve list}). */
  public Map<String, Long> tallies() {
    Map<String, Long> out = new TreeMap<>();
    tallies.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  public String where() {
    return where;
  }
}
