package dev.funnel.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code funnel admin node list|rm}. */
@Command(name = "node", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    description = "List node identities with their live sessions, or forget one.",
    subcommands = {AdminNodeCommand.ListAll.class, AdminNodeCommand.Remove.class},
    footer = {"", "Examples:", "  funnel admin node list", "  funnel admin node rm web.demo"})
final class AdminNodeCommand {

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List nodes: online while a gateway holds a live session for them.",
      footer = {"", "Examples:", "  funnel admin node list", "  funnel admin node list --json"})
  static final class ListAll extends AdminAction {
    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject answer = client.get("/v1/nodes");
      if (json) {
        out.println(answer.encodePrettily());
        return;
      }
      JsonArray nodes = answer.getJsonArray("nodes", new JsonArray());
      if (nodes.isEmpty()) {
        out.println("no nodes (a node appears once it has logged in with an auth key)");
        return;
      }
      AdminTable table = new AdminTable("NODE", "FQDN", "ONLINE", "PORTS", "GATEWAYS", "KEY", "CREATED");
      java.util.List<String> notRouted = new java.util.ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) {
        JsonObject n = nodes.getJsonObject(i);
        table.row(n.getString("name") + "." + n.getString("tailnet"), n.getString("fqdn"),
            n.getBoolean("online", false) ? "yes" : "no", AdminTable.list(n.getJsonArray("ports")),
            AdminTable.list(n.getJsonArray("gateways")), n.getString("keyId"),
            AdminTable.time(n.getString("createdAt"), "-"));
        JsonObject refused = n.getJsonObject("refused", new JsonObject());
        refused.fieldNames().stream().sorted().forEach(port -> notRouted.add(n.getString("name") + "."
            + n.getString("tailnet") + " port " + port + " is not routed: " + refused.getString(port)));
      }
      table.print(out);
      notRouted.forEach(out::println);
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Forget a node: it is disconnected, its routes withdrawn, and its name free again.",
      footer = {"", "Example:", "  funnel admin node rm web.demo"})
  static final class Remove extends AdminAction {
    @Parameters(paramLabel = "NAME.TAILNET", description = "The node, e.g. web.demo (NAME.TAILNET.DOMAIN works too).")
    String node;

    @Override
    void run(ApiClient client, PrintWriter out) {
      client.delete("/v1/nodes/" + ApiClient.segment(node));
      out.println("removed node " + node);
    }
  }
}
