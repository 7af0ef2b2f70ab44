package dev.funnel.common.serve;

import dev.funnel.common.options.ServeTarget;
import java.util.Objects;

/**
 * One route of a public port: requests whose path is under {@code path} (canonical, see
 * {@link RoutePaths}) pass the route's gate and go to {@code target}.
 *
 * @param policy the route's own gate rules; the port's apply where these are unset ({@link ServePort#effective})
 */
public record ServeRoute(String path, ServeTarget target, GatePolicy policy) {

  public ServeRoute {
    path = RoutePaths.canonical(path);
    Objects.requireNonNull(target);
    policy = policy == null ? GatePolicy.NONE : policy;
  }

  public ServeRoute(String path, ServeTarget target) {
    this(path, target, GatePolicy.NONE);
  }

  public ServeRoute withPolicy(GatePolicy p) {
    return new ServeRoute(path, target, p);
  }
}
