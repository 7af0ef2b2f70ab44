package dev.funnel.registry;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The operator's status ({@code GET /v1/status}, {@code funnel admin status}) as JSON: cluster
 * members and their readiness (from the figures each service publishes), nodes online (this
 * registry's view of live sessions), tunnels open, new tunnels per second and refusals by reason
 * over the last minute.
 */
final class StatusView {

  private StatusView() {
  }

  /** A rate as shown (here and in the console): to two decimals. */
  static double perSecond(double rate) {
    return Math.round(rate * 100) / 100.0;
  }

  static JsonObject json(ClusterStats.Summary summary, List<NodeView> nodes, String domain) {
    JsonArray members = new JsonArray();
    for (ClusterStats.Member m : summary.members()) {
      members.add(new JsonObject().put("id", m.id()).put("role", m.role()).put("ready", m.ready())
          .put("live", m.live()).put("heardSecondsAgo", m.heardMillisAgo() / 1000.0)
          .put("publicPorts", new JsonArray(m.publicPorts())).put("tunnelsOpen", m.tunnelsOpen())
          .put("sessions", m.sessions()));
    }
    long online = nodes.stream().filter(NodeView::online).count();
    JsonObject refusals = new JsonObject();
    summary.refusalsLastMinute().forEach(refusals::put);
    JsonArray refusedPorts = new JsonArray();
    for (NodeView n : nodes) {
      if (n.online()) {
        n.refused().forEach((port, reason) -> refusedPorts.add(new JsonObject().put("node", n.fqdn()).put("port", port)
            .put("reason", reason)));
      }
    }
    return new JsonObject()
        .put("domain", domain)
        .put("members", members)
        .put("nodes", new JsonObject().put("known", nodes.size()).put("online", online))
        .put("tunnelsOpen", summary.tunnelsOpen())
        .put("newTunnelsPerSecond", perSecond(summary.newTunnelsPerSecond()))
        .put("refusalsLastMinute", refusals)
        .put("refusedPorts", refusedPorts);
  }
}
