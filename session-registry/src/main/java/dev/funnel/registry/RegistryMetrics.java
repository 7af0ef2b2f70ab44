package dev.funnel.registry;

import dev.funnel.common.bus.FailureCode;
import dev.funnel.common.bus.LoginFailure;
import dev.funnel.common.bus.ResolveFailure;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.AsyncResult;
import java.util.Locale;

/**
 * The registry's meters. Labels are bounded: a resolve's or a login's result (the failure code's
 * name, {@code found}/{@code ok}, or {@code error}); never a host name, a node or a key.
 *
 * <ul>
 *   <li>{@code funnel_registry_routes}: node sessions the registry routes to now (one per node and
 *       gateway holding it, lease live or not yet swept);</li>
 *   <li>{@code funnel_registry_tailnets}: tailnets known;</li>
 *   <li>{@code funnel_registry_resolves_total{result}}: resolve requests answered (frontends ask on
 *       cache misses only);</li>
 *   <li>{@code funnel_registry_logins_total{result}}: node logins answered;</li>
 *   <li>{@code funnel_registry_aliases{state}}: custom domains by state (pending, verified, failed);</li>
 *   <li>{@code funnel_registry_alias_checks_total{result}}: alias checks by result (verified,
 *       unproven, lookup_failed).</li>
 * </ul>
 * Every result is registered up front, so the first scrape shows each at zero.
 */
final class RegistryMetrics {

  private final MeterRegistry registry;

  private RegistryMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * Meters on {@code registry} for {@code service}. The gauges are registered once per registry:
   * several registry verticles sharing one service report it once.
   */
  static RegistryMetrics create(MeterRegistry registry, RegistryService service) {
    Gauge.builder("funnel.registry.routes", service, RegistryService::sessionCount)
        .description("Node sessions the registry routes to now (one per node and gateway holding it)")
        .register(registry);
    Gauge.builder("funnel.registry.tailnets", service, s -> s.tailnets().size())
        .description("Tailnets known to the registry")
        .register(registry);
    for (String state : java.util.List.of(dev.funnel.registry.store.AliasRecord.PENDING,
        dev.funnel.registry.store.AliasRecord.VERIFIED, dev.funnel.registry.store.AliasRecord.FAILED)) {
      Gauge.builder("funnel.registry.aliases", service, s -> s.aliases().count(state))
          .description("Custom domains (aliases) known to the registry, by state")
          .tag("state", state)
          .register(registry);
    }
    for (String result : java.util.List.of("verified", "unproven", "lookup_failed")) {
      io.micrometer.core.instrument.FunctionCounter.builder("funnel.registry.alias.checks", service,
              s -> s.aliases().checks(result).get())
          .description("Custom-domain checks done, by result")
          .tag("result", result)
          .register(registry);
    }
    RegistryMetrics metrics = new RegistryMetrics(registry);
    metrics.resolveCounter("found");
    for (ResolveFailure failure : ResolveFailure.values()) {
      metrics.resolveCounter(tag(failure));
    }
    metrics.resolveCounter("error");
    metrics.loginCounter("ok");
    for (LoginFailure failure : LoginFailure.values()) {
      metrics.loginCounter(tag(failure));
    }
    metrics.loginCounter("error");
    return metrics;
  }

  /** Counts a resolve answered with a route (null) or a coded refusal. */
  void resolved(ResolveFailure failure) {
    resolveCounter(failure == null ? "found" : tag(failure)).increment();
  }

  /** Counts a resolve that failed inside the registry (store or cluster). */
  void resolveFailed() {
    resolveCounter("error").increment();
  }

  /** Counts a login by how it ended: ok, a {@link LoginFailure}, or error (the store failed). */
  void loggedIn(AsyncResult<?> result) {
    String tag = result.succeeded() ? "ok"
        : FailureCode.of(result.cause()).flatMap(LoginFailure::fromCode).map(RegistryMetrics::tag).orElse("error");
    loginCounter(tag).increment();
  }

  private Counter resolveCounter(String result) {
    return Counter.builder("funnel.registry.resolves")
        .description("Resolve requests answered, by result")
        .tag("result", result)
        .register(registry);
  }

  private Counter loginCounter(String result) {
    return Counter.builder("funnel.registry.logins")
        .description("Node logins answered, by result")
        .tag("result", result)
        .register(registry);
  }

  private static String tag(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }
}
