package dev.funnel.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code funnel admin status}: the operator's view, from {@code GET /v1/status}. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"The operator's view of the server side: cluster members (frontends, gateways, registries, DNS) "
        + "and their readiness, nodes online, tunnels open, new tunnels per second, refusals by reason over the last "
        + "minute, and ports that online nodes funnel but the server does not route.",
        "Every service publishes its figures every 2 s; the registry that answers shows what it heard."},
    footer = {"", "Examples:", "  funnel admin status", "  funnel admin status --json"})
final class AdminStatusCommand extends AdminAction {

  @Option(names = "--json", description = "Print the API's JSON.")
  boolean json;

  @Override
  void run(ApiClient client, PrintWriter out) {
    JsonObject status = client.get("/v1/status");
    if (json) {
      out.println(status.encodePrettily());
      return;
    }
    print(status, out);
  }

  static void print(JsonObject status, PrintWriter out) {
    JsonObject nodes = status.getJsonObject("nodes", new JsonObject());
    out.println("nodes online:         " + nodes.getLong("online", 0L) + " of " + nodes.getLong("known", 0L));
    out.println("tunnels open:         " + status.getLong("tunnelsOpen", 0L));
    out.println("new tunnels per sec:  " + status.getValue("newTunnelsPerSecond", 0));
    JsonObject refusals = status.getJsonObject("refusalsLastMinute", new JsonObject());
    out.println("refusals, last min:   " + (refusals.isEmpty() ? "none" : refusals.fieldNames().stream().sorted()
        .map(k -> k + " " + refusals.getValue(k)).reduce((a, b) -> a + ", " + b).orElse("none")));
    JsonArray members = status.getJsonArray("members", new JsonArray());
    out.println();
    if (members.isEmpty()) {
      out.println("no member has reported yet (each reports every 2 s)");
    } else {
      AdminTable table = new AdminTable("MEMBER", "ROLE", "READY", "HEARD", "PORTS", "TUNNELS", "SESSIONS");
      for (int i = 0; i < members.size(); i++) {
        JsonObject m = members.getJsonObject(i);
        table.row(m.getString("id"), m.getString("role"),
            m.getBoolean("ready", false) ? "yes" : m.getBoolean("live", false) ? "no" : "no (silent)",
            String.format(java.util.Locale.ROOT, "%.0f s ago", m.getDouble("heardSecondsAgo", 0.0)),
            AdminTable.list(m.getJsonArray("publicPorts")), m.getLong("tunnelsOpen", 0L), m.getInteger("sessions", 0));
      }
      table.print(out);
    }
    JsonArray refused = status.getJsonArray("refusedPorts", new JsonArray());
    if (!refused.isEmpty()) {
      out.println();
      AdminTable table = new AdminTable("NODE", "PORT", "NOT ROUTED BECAUSE");
      for (int i = 0; i < refused.size(); i++) {
        JsonObject r = refused.getJsonObject(i);
        table.row(r.getString("node"), r.getInteger("port"), r.getString("reason"));
      }
      table.print(out);
    }
  }
}
