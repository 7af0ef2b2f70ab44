package dev.funnel.common.bus;

import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Which of the ports a node funnels the public side will not route, and why: the tailnet's policy
 * (Funnel off, or the port not among the tailnet's allowed ports) or no frontend listening on that
 * public port. A pure function; the registry applies it at every login and serve update and for
 * {@code funnel admin node list}, so the node, {@code funnel node serve add} and the admin say it
 * instead of announcing a URL every client is refused at.
 */
public final class PortRefusals {

  private PortRefusals() {
  }

  /** Reason prefix of a refusal by the tailnet's policy (scripts and tests look for it). */
  public static final String POLICY = "refused by the tailnet's policy";
  /** Reason of a port no frontend listens on. */
  public static final String NO_LISTENER = "the server has no public listener for this port";

  /**
   * @param ports    what the node funnels
   * @param tailnet  the node's tailnet (named in reasons)
   * @param funnelOn whether the tailnet's admin turned Funnel on
   * @param allowed  the tailnet's allowed ports
   * @param listened the public ports frontends listen on; null when unknown (no frontend reported yet):
   *                 then no port is refused for want of a listener
   * @return port → reason, for the refused ports only (sorted; empty when every port is routed)
   */
  public static Map<Integer, String> of(Collection<Integer> ports, String tailnet, boolean funnelOn,
                                        Collection<Integer> allowed, Set<Integer> listened) {
    Map<Integer, String> refused = new TreeMap<>();
    for (int port : ports) {
      if (!funnelOn) {
        refused.put(port, POLICY + ": Funnel is off for tailnet " + tailnet);
      } else if (!allowed.contains(port)) {
        refused.put(port, POLICY + ": tailnet " + tailnet + " does not allow port " + port + " (allowed: "
            + (allowed.isEmpty() ? "none" : allowed.stream().sorted().map(String::valueOf).collect(Collectors.joining(", ")))
            + ")");
      } else if (listened != null && !listened.contains(port)) {
        refused.put(port, NO_LISTENER + " (" + port + ")");
      }
    }
    return refused;
  }

  /**
   * The refusals after the tailnet's policy changed, from those the node was last told: every
   * refusal by policy is decided again from {@code funnelOn} and {@code allowed}; a port the policy
   * lets through keeps a refusal for want of a listener it had (only the registry knows the
   * listeners, and the policy does not change them).
   */
  public static Map<Integer, String> withPolicy(Map<Integer, String> previous, Collection<Integer> ports, String tailnet,
                                                boolean funnelOn, Collection<Integer> allowed) {
    Map<Integer, String> byPolicy = of(ports, tailnet, funnelOn, allowed, null);
    Map<Integer, String> next = new TreeMap<>(byPolicy);
    previous.forEach((port, reason) -> {
      if (!byPolicy.containsKey(port) && ports.contains(port) && reason.startsWith(NO_LISTENER)) {
        next.put(port, reason);
      }
    });
    return next;
  }

  /** {@code {"8443": "reason"}} → port → reason; null or malformed entries are skipped. */
  public static Map<Integer, String> fromJson(io.vertx.core.json.JsonObject json) {
    Map<Integer, String> out = new TreeMap<>();
    if (json == null) {
      return out;
    }
    for (String key : json.fieldNames()) {
      Object value = json.getValue(key);
      try {
        if (value instanceof String reason) {
          out.put(Integer.parseInt(key), reason);
        }
      } catch (NumberFormatException e) {
        // skipped: not a port
      }
    }
    return out;
  }

  public static io.vertx.core.json.JsonObject toJson(Map<Integer, String> refused) {
    io.vertx.core.json.JsonObject json = new io.vertx.core.json.JsonObject();
    new TreeMap<>(refused).forEach((port, reason) -> json.put(Integer.toString(port), reason));
    return json;
  }
}
