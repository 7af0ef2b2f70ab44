package dev.funnel.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code funnel admin alias add|list|rm}. */
@Command(name = "alias", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    description = "Custom domains: ask for one for a node, list them with their state, or forget one.",
    subcommands = {AdminAliasCommand.Add.class, AdminAliasCommand.ListAll.class, AdminAliasCommand.Remove.class},
    footer = {"", "Examples:", "  funnel admin alias add --node web.demo blog.example.com",
        "  funnel admin alias list", "  funnel admin alias rm blog.example.com"})
final class AdminAliasCommand {

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = "Ask for a custom domain for a node; prints the two DNS records to publish.",
      footer = {"", "The alias is routed only after the registry's resolver (--alias-resolver) sees both records.",
          "", "Example:", "  funnel admin alias add --node web.demo blog.example.com"})
  static final class Add extends AdminAction {
    @Option(names = "--node", required = true, paramLabel = "NAME.TAILNET", description = "The node, e.g. web.demo.")
    String node;

    @Parameters(paramLabel = "ALIAS", description = "The custom domain, e.g. blog.example.com.")
    String alias;

    @Override
    void check() {
      int dot = node.indexOf('.');
      if (dot <= 0 || dot == node.length() - 1) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--node must be NAME.TAILNET, got '" + node + "'");
      }
    }

    @Override
    void run(ApiClient client, PrintWriter out) {
      int dot = node.indexOf('.');
      String tailnet = node.substring(dot + 1);
      int next = tailnet.indexOf('.');
      if (next >= 0) {
        tailnet = tailnet.substring(0, next);   // NAME.TAILNET.DOMAIN works too
      }
      JsonObject added = client.post("/v1/aliases", new JsonObject().put("tailnet", tailnet)
          .put("node", node.substring(0, dot)).put("alias", alias));
      out.println("alias " + added.getString("alias") + " for " + added.getString("target") + ": "
          + added.getString("state"));
      out.println("publish: " + added.getString("alias") + ". CNAME " + added.getString("target") + ".");
      out.println("         _funnel-challenge." + added.getString("alias") + ". TXT \"" + added.getString("token") + "\"");
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List custom domains with their state and the last check's reason.",
      footer = {"", "Examples:", "  funnel admin alias list", "  funnel admin alias list --json"})
  static final class ListAll extends AdminAction {
    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject answer = client.get("/v1/aliases");
      if (json) {
        out.println(answer.encodePrettily());
        return;
      }
      JsonArray aliases = answer.getJsonArray("aliases", new JsonArray());
      if (aliases.isEmpty()) {
        out.println("no aliases");
        return;
      }
      AdminTable table = new AdminTable("ALIAS", "NODE", "STATE", "CHECKED", "FROM", "REASON");
      for (int i = 0; i < aliases.size(); i++) {
        JsonObject a = aliases.getJsonObject(i);
        table.row(a.getString("alias"), a.getString("node") + "." + a.getString("tailnet"), a.getString("state"),
            AdminTable.time(a.getString("checkedAt"), "-"), a.getString("origin"),
            a.getString("reason") == null ? "-" : a.getString("reason"));
      }
      table.print(out);
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Forget a custom domain: routing through it stops at once.",
      footer = {"", "Examples:", "  funnel admin alias rm blog.example.com",
          "  funnel admin alias rm --node lab.demo blog.example.com   # only that node's claim"})
  static final class Remove extends AdminAction {
    @Option(names = "--node", paramLabel = "NAME.TAILNET",
        description = "Only this node's claim (default: every node's).")
    String node;

    @Parameters(paramLabel = "ALIAS", description = "The custom domain.")
    String alias;

    @Override
    void run(ApiClient client, PrintWriter out) {
      client.delete("/v1/aliases/" + ApiClient.segment(alias)
          + (node == null ? "" : "?node=" + java.net.URLEncoder.encode(node, java.nio.charset.StandardCharsets.UTF_8)));
      out.println("removed alias " + alias + (node == null ? "" : " of " + node));
    }
  }
}
