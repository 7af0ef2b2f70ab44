package dev.funnel.registry;

import dev.funnel.common.bus.AliasInfo.State;
import dev.funnel.common.options.RegistryOptions;
import dev.funnel.registry.alias.AliasCheck;
import dev.funnel.registry.alias.DnsAliasLookup;
import dev.funnel.registry.store.AliasRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * When and how each alias claim is checked: {@link #tick} (every second or so) starts a lookup for
 * every claim that is due and not being checked, on a worker, at most {@code maxAliasLookups} at
 * once (the rest wait for a later tick); the outcome goes to {@link AliasService#recordCheck}, and the
 * claim is due again after {@link AliasCheck#delayMillis} (the interval once verified; 2 s doubling
 * while unproven). Schedules and counters live in memory only: after a restart every claim is
 * checked at once.
 */
public final class AliasChecker {

  private static final Logger LOG = System.getLogger(AliasChecker.class.getName());

  private final Vertx vertx;
  private final RegistryOptions options;
  private final AliasService aliases;
  private final DnsAliasLookup lookup;
  /** Per claim key: when it is due (epoch millis) and how many unproven checks it had in a row. */
  private final Map<String, long[]> schedule = new ConcurrentHashMap<>();
  private final Map<String, Integer> inconclusive = new ConcurrentHashMap<>();
  private final Set<String> checking = ConcurrentHashMap.newKeySet();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

  AliasChecker(Vertx vertx, RegistryOptions options, AliasService aliases, DnsAliasLookup lookup) {
    this.vertx = vertx;
    this.options = options;
    this.aliases = aliases;
    this.lookup = lookup;
  }

  /** Checks done, by result (metrics). */
  AtomicInteger checks(String result) {
    return counts.computeIfAbsent(result, r -> new AtomicInteger());
  }

  /** A new claim: due now. */
  void due(String key) {
    schedule.put(key, new long[] {0, 0});
  }

  /** Forgets the schedules of claims that are gone. */
  void retain(Set<String> keys) {
    schedule.keySet().retainAll(keys);
    inconclusive.keySet().retainAll(keys);
  }

  /** One round (see the class comment); nothing without a resolver. Any thread. */
  public void tick() {
    if (lookup == null) {
      return;
    }
    long now = System.currentTimeMillis();
    for (AliasRecord claim : aliases.claims()) {
      String key = AliasService.key(claim);
      long[] due = schedule.computeIfAbsent(key, k -> new long[] {0, 0});
      if (due[0] > now || checking.contains(key)) {
        continue;
      }
      if (inFlight.incrementAndGet() > options.getMaxAliasLookups()) {
        inFlight.decrementAndGet();
        return;
      }
      checking.add(key);
      check(claim, key, due).onComplete(done -> {
        checking.remove(key);
        inFlight.decrementAndGet();
        if (done.failed()) {
          LOG.log(Level.WARNING, "checking alias " + claim.alias() + " failed: " + done.cause());
          due[0] = System.currentTimeMillis() + AliasCheck.delayMillis(State.PENDING, (int) due[1]++,
              options.getAliasCheckIntervalMillis());
        }
      });
    }
  }

  private Future<Void> check(AliasRecord claim, String key, long[] due) {
    AliasService.CheckInput input = aliases.inputFor(claim);
    if (input.target() == null) {
      return Future.succeededFuture();   // its node is being removed; the claim goes with it
    }
    return vertx.executeBlocking(() -> input.funnelOn() ? lookup.lookup(claim.alias())
            : AliasCheck.Lookup.failed("not asked"), false)
        .compose(found -> vertx.executeBlocking(() -> {
          AliasCheck.Outcome outcome = AliasCheck.judge(claim.alias(), claim.token(), input.target(), input.funnelOn(),
              found);
          int inARow = outcome.inconclusive() ? inconclusive.merge(key, 1, Integer::sum) : 0;
          if (!outcome.inconclusive()) {
            inconclusive.remove(key);
          }
          checks(outcome.verified() ? "verified" : outcome.inconclusive() ? "lookup_failed" : "unproven")
              .incrementAndGet();
          State next = aliases.recordCheck(claim, outcome, inARow);
          if (next != null) {
            due[1] = next == State.VERIFIED ? 0 : due[1] + 1;
            due[0] = System.currentTimeMillis() + AliasCheck.delayMillis(next, (int) due[1] - 1,
                options.getAliasCheckIntervalMillis());
          }
          return null;
        }, false));
  }
}
