package dev.funnel.common.serve;

import dev.funnel.common.ops.LogLimit;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * One gated route's record of its decisions: a tally by rule and outcome (what {@code funnel node
 * serve list} shows) and one INFO line per refusal with its reason and the client's address.
 * Allowed requests are tallied, not logged. The Prometheus counter is {@link GateMeter}'s.
 *
 * <p>Refusal lines are limited to {@link #LOG_LINES_PER_SECOND} a second per route ({@link LogLimit}),
 * so a flood of refused requests cannot flood the log; the next line that gets through says how many
 * were left out (they are all tallied and counted). Thread-safe; one per route, shared by its event loops.
 */
public final class GateLog {

  public static final int LOG_LINES_PER_SECOND = LogLimit.DEFAULT_PER_SECOND;

  private static final System.Logger LOG = System.getLogger(GateLog.class.getName());

  private final String where;
  private final Map<String, LongAdder> tallies = new ConcurrentHashMap<>();
  private final LogLimit lines;

  /** {@code where} names the route in log lines, e.g. {@code "port 443 path /hooks"}. */
  public GateLog(String where) {
    this(where, System::nanoTime);
  }

  GateLog(String where, LongSupplier nanoClock) {
    this.where = where;
    this.lines = new LogLimit(LOG_LINES_PER_SECOND, nanoClock);
  }

  /** Tallies a request {@code rule} let through. */
  public void allowed(String rule) {
    tally(rule, GateMeter.ALLOWED);
  }

  /**
   * Tallies a refusal and logs it once at INFO: route, rule, outcome, {@code reason} and
   * {@code client} (the address goes to the log line only, never to a metric label).
   */
  public void refused(String rule, String outcome, String client, String reason) {
    tally(rule, outcome);
    lines.log(LOG, Level.INFO, "refusals", () -> "gate: " + where + ": " + rule + " refused "
        + (client == null ? "a client" : client) + " (" + outcome + "): " + reason + "; rejecting");
  }

  private void tally(String rule, String outcome) {
    tallies.computeIfAbsent(rule + "/" + outcome, k -> new LongAdder()).increment();
  }

  /** This route's decisions so far, {@code "rule/outcome" → count}, sorted. */
  public Map<String, Long> tallies() {
    Map<String, Long> out = new TreeMap<>();
    tallies.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  public String where() {
    return where;
  }
}
