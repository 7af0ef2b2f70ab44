package dev.funnel.launcher;

import dev.funnel.common.PublicPorts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.TypeConversionException;

/** {@code funnel admin tailnet add|list|set|rm}. */
@Command(name = "tailnet", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    description = "Add, list, change or remove tailnets: a tailnet is the admin's opt-in to Funnel and the "
        + "public ports its nodes may use.",
    subcommands = {AdminTailnetCommand.Add.class, AdminTailnetCommand.ListAll.class,
        AdminTailnetCommand.Change.class, AdminTailnetCommand.Remove.class},
    footer = {"", "Examples:",
        "  funnel admin tailnet add demo --funnel on",
        "  funnel admin tailnet set demo --ports 443,8443",
        "  funnel admin tailnet list"})
final class AdminTailnetCommand {

  private static final String FUNNEL_HELP = "on: the tailnet's nodes may be reached from the internet; off: not.";
  private static final String PORTS_HELP = "Public ports its nodes may funnel, comma-separated, from 443, 8443 "
      + "and 10000.";

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = "Add a tailnet.",
      footer = {"", "Examples:",
          "  funnel admin tailnet add demo --funnel on",
          "  funnel admin tailnet add lab --funnel on --ports 443,8443,10000"})
  static final class Add extends AdminAction {
    @Parameters(paramLabel = "NAME", description = "The tailnet's name: a DNS label, [a-z0-9-].")
    String name;

    @Option(names = "--funnel", paramLabel = "on|off", arity = "1", converter = OnOffConverter.class,
        description = FUNNEL_HELP + " Default: off.")
    OnOff funnel;

    @Option(names = "--ports", paramLabel = "PORTS", converter = PortsConverter.class,
        description = PORTS_HELP + " Default: 443.")
    Ports ports;

    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject body = new JsonObject().put("name", name);
      if (funnel != null) {
        body.put("funnel", funnel == OnOff.ON);
      }
      if (ports != null) {
        body.put("ports", ports.json());
      }
      JsonObject tailnet = client.post("/v1/tailnets", body);
      out.println(json ? tailnet.encodePrettily() : "added tailnet " + describe(tailnet));
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List tailnets.",
      footer = {"", "Examples:", "  funnel admin tailnet list", "  funnel admin tailnet list --json"})
  static final class ListAll extends AdminAction {
    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject answer = client.get("/v1/tailnets");
      if (json) {
        out.println(answer.encodePrettily());
        return;
      }
      JsonArray tailnets = answer.getJsonArray("tailnets", new JsonArray());
      if (tailnets.isEmpty()) {
        out.println("no tailnets (add one: funnel admin tailnet add NAME --funnel on)");
        return;
      }
      AdminTable table = new AdminTable("NAME", "FUNNEL", "PORTS", "CREATED");
      for (int i = 0; i < tailnets.size(); i++) {
        JsonObject t = tailnets.getJsonObject(i);
        table.row(t.getString("name"), onOff(t), AdminTable.list(t.getJsonArray("ports")),
            AdminTable.time(t.getString("createdAt"), "-"));
      }
      table.print(out);
    }
  }

  @Command(name = "set", mixinStandardHelpOptions = true,
      description = "Turn Funnel on or off for a tailnet, or change its ports; takes effect at once.",
      footer = {"", "Examples:",
          "  funnel admin tailnet set demo --funnel off",
          "  funnel admin tailnet set demo --funnel on --ports 443,10000"})
  static final class Change extends AdminAction {
    @Parameters(paramLabel = "NAME", description = "The tailnet.")
    String name;

    @Option(names = "--funnel", paramLabel = "on|off", arity = "1", converter = OnOffConverter.class,
        description = FUNNEL_HELP)
    OnOff funnel;

    @Option(names = "--ports", paramLabel = "PORTS", converter = PortsConverter.class, description = PORTS_HELP)
    Ports ports;

    @Option(names = "--json", description = "Print the API's JSON.")
    boolean json;

    @Override
    void check() {
      if (funnel == null && ports == null) {
        throw new ParameterException(spec.commandLine(), "nothing to change: pass --funnel on|off and/or --ports");
      }
    }

    @Override
    void run(ApiClient client, PrintWriter out) {
      JsonObject body = new JsonObject();
      if (funnel != null) {
        body.put("funnel", funnel == OnOff.ON);
      }
      if (ports != null) {
        body.put("ports", ports.json());
      }
      JsonObject tailnet = client.patch("/v1/tailnets/" + ApiClient.segment(name), body);
      out.println(json ? tailnet.encodePrettily() : "changed tailnet " + describe(tailnet));
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Remove a tailnet with its keys and nodes; its nodes are disconnected at once.",
      footer = {"", "Example:", "  funnel admin tailnet rm demo"})
  static final class Remove extends AdminAction {
    @Parameters(paramLabel = "NAME", description = "The tailnet.")
    String name;

    @Override
    void run(ApiClient client, PrintWriter out) {
      client.delete("/v1/tailnets/" + ApiClient.segment(name));
      out.println("removed tailnet " + name + " with its keys and nodes");
    }
  }

  /** {@code demo: funnel on, ports 443,8443}. */
  private static String describe(JsonObject tailnet) {
    return tailnet.getString("name") + ": funnel " + onOff(tailnet) + ", ports "
        + AdminTable.list(tailnet.getJsonArray("ports"));
  }

  private static String onOff(JsonObject tailnet) {
    return tailnet.getBoolean("funnel", false) ? "on" : "off";
  }

  /** A checked {@code --ports} value: at least one Funnel port. */
  record Ports(List<Integer> values) {
    JsonArray json() {
      return new JsonArray(values);
    }
  }

  /** {@code --ports 443,8443}, parsed by {@link PublicPorts#parseList}. */
  static final class PortsConverter implements ITypeConverter<Ports> {
    @Override
    public Ports convert(String value) {
      Set<Integer> ports;
      try {
        ports = PublicPorts.parseList(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
      if (ports.isEmpty()) {
        throw new TypeConversionException("no ports given (use 443, 8443 or 10000)");
      }
      return new Ports(PublicPorts.sorted(ports));
    }
  }

  /** {@code --funnel on|off}. (Not a Boolean: picocli would accept true/false/yes for those.) */
  enum OnOff { ON, OFF }

  /** {@code on} or {@code off}, nothing else. */
  static final class OnOffConverter implements ITypeConverter<OnOff> {
    @Override
    public OnOff convert(String value) {
      return switch (value) {
        case "on" -> OnOff.ON;
        case "off" -> OnOff.OFF;
        default -> throw new TypeConversionException("expected on or off, got '" + value + "'");
      };
    }
  }
}
