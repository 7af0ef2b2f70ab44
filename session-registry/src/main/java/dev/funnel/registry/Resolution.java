package dev.funnel.registry;

import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.Route;

/** What resolving a public name and port found: a route, or a coded refusal with a reason for the log. */
public sealed interface Resolution {

  record Found(Route route) implements Resolution {
  }

  record Refused(ResolveFailure failure, String reason) implements Resolution {
  }
}
