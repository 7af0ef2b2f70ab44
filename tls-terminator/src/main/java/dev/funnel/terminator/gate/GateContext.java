package dev.funnel.terminator.gate;

import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * What a {@link GateFactory} gets besides the policy.
 *
 * @param vertx       the terminator's Vert.x
 * @param router      the port's router being built: routes a factory adds (an OIDC callback, {@code /.funnel/logout})
 *                    come before the port's path routes; it is replaced whole on the next change
 * @param publicPort  the public port
 * @param routePath   the route's path prefix (canonical: {@code /}, {@code /api})
 * @param serverNames the node's public names (lower case)
 * @param sharedState one map per terminator, common to its event loops and kept across rebuilds: use
 *                    {@link #shared} for state that must survive a change (thread-safe values only)
 * @param decisions   the decision counter
 */
public record GateContext(Vertx vertx, Router router, int publicPort, String routePath, Set<String> serverNames,
                          ConcurrentMap<String, Object> sharedState, GateDecisions decisions) {

  /**
   * The value under {@code name} for this port and route, made by {@code create} the first time.
   * Shared by every event loop's router and kept across rebuilds, so it must be thread-safe.
   */
  @SuppressWarnings("unchecked")
  public <T> T shared(String name, Supplier<T> create) {
    return (T) sharedState.computeIfAbsent(publicPort + " " + routePath + " " + name, k -> create.get());
  }
}
