package dev.funnel.launcher;

import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeFlags;
import dev.funnel.common.serve.ServeRoute;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code funnel node serve list|add|rm}: changes what a running {@code funnel node} funnels, through
 * its local control ({@link NodeControl}), found by the {@code control-url} and {@code control-token}
 * files in the node's state directory. A change applies to new connections at once; connections
 * already open finish on their own.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, synopsisSubcommandLabel = "COMMAND",
    description = {"Change what a running `funnel node` funnels, without restarting it: list its ports, routes and "
        + "gate rules; add or replace a port or a path route; set the gate rules of a port or route; or stop "
        + "funnelling one (new requests or connections to it are refused at once). The next request sees a change.",
        "Changes last until the node stops; its --funnel flags are the configuration it starts with."},
    subcommands = {NodeServeCommand.ListAll.class, NodeServeCommand.Add.class, NodeServeCommand.Gate.class,
        NodeServeCommand.Remove.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:done", "1:the node refused the change, or is not running", "2:usage error"},
    footer = {"", "Examples:",
        "  funnel node serve list --state .funnel-web",
        "  funnel node serve add 8443=tcp://127.0.0.1:9443 --state .funnel-web",
        "  funnel node serve add 443:/api=http://127.0.0.1:8080 --rate-limit 20/s --state .funnel-web",
        "  funnel node serve gate 443 --allow-cidr 10.0.0.0/8 --state .funnel-web",
        "  funnel node serve rm 443:/api --state .funnel-web"})
final class NodeServeCommand {

  static final Path DEFAULT_STATE = Path.of(".funnel-node");
  /** Bound on one call; a change may wait for a certificate and the gateway's confirmation. */
  static final Duration CALL_TIMEOUT = Duration.ofMillis(NodeStack.SERVE_CHANGE_TIMEOUT_MILLIS + 5_000);

  @Option(names = "--state", paramLabel = "DIR", scope = ScopeType.INHERIT,
      description = "The running node's state directory (its --state; default: .funnel-node).")
  Path state;

  /** One leaf: calls the control and prints; failures become one line on stderr and exit code 1. */
  abstract static class Action implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    abstract void run(ApiClient control, PrintWriter out);

    @Override
    public final Integer call() {
      check();
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try {
        run(control(stateDir()), out);
        return 0;
      } catch (ApiClient.ApiFailure e) {
        err.println("funnel node serve: " + e.getMessage());
        return 1;
      } finally {
        out.flush();
        err.flush();
      }
    }

    void check() {
    }

    private Path stateDir() {
      for (CommandSpec s = spec; s != null; s = s.parent()) {
        if (s.userObject() instanceof NodeServeCommand serve && serve.state != null) {
          return serve.state;
        }
      }
      return DEFAULT_STATE;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the public ports the node funnels now.",
      footer = {"", "Example:", "  funnel node serve list --state .funnel-web"})
  static final class ListAll extends Action {
    @Option(names = "--json", description = "Print the control's JSON.")
    boolean json;

    @Override
    void run(ApiClient control, PrintWriter out) {
      print(control.get("/v1/serve"), json, out);
    }
  }

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = {"Funnel public PORT (443, 8443, 10000), or the paths under PATH on it, to TARGET from now on,"
          + " replacing the route on that path if there was one. The next request sees it; open connections stay."
          + " The tailnet's admin must allow the port too.",
          "TARGET: tcp://HOST:PORT | http://HOST:PORT[/path] | https+insecure://HOST:PORT | tls-terminated-tcp://HOST:PORT"
              + " | file:///DIR[?listing] | text:STRING | redirect:URL",
          "The gate flags set this route's own rules (the port's, from `serve gate PORT`, apply where these are unset)."},
      footer = {"", "Examples:", "  funnel node serve add 443=tcp://127.0.0.1:9443 --state .funnel-web",
          "  funnel node serve add 8443=http://127.0.0.1:3000 --state .funnel-web",
          "  funnel node serve add 443:/static=file:///srv/site --state .funnel-web",
          "  funnel node serve add 443:/hooks=http://127.0.0.1:4000 --verify github:/etc/funnel/gh.secret"})
  static final class Add extends Action {
    @Parameters(paramLabel = "PORT[:/PATH]=TARGET", description = "The public port, optionally a path on it, and where it goes.")
    String entry;

    @Option(names = "--json", description = "Print the control's JSON.")
    boolean json;

    @picocli.CommandLine.ArgGroup(exclusive = false, heading = "%nGate rules of this route:%n")
    ServeGateOptions gate = new ServeGateOptions();

    private int port;
    private ServeRoute route;

    @Override
    void check() {
      try {
        var parsed = ServeFlags.route(entry);
        port = parsed.getKey();
        route = parsed.getValue().withPolicy(gate == null ? GatePolicy.NONE : gate.policy());
        // The invariants a port holds (tcp:// alone, no gates on streams) are checked by the node.
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), entryMessage(e.getMessage()));
      }
    }

    /**
     * ServeFlags' message for {@code --funnel ENTRY}, about the argument instead: {@code 443=htp://x:1: bad
     * target …}, as {@code funnel node --funnel 443=htp://x:1: bad target …} reads.
     */
    static String entryMessage(String message) {
      if (message.startsWith("--funnel takes ")) {
        return "expected " + message.substring("--funnel takes ".length());
      }
      return message.startsWith("--funnel ") ? message.substring("--funnel ".length()) : message;
    }

    @Override
    void run(ApiClient control, PrintWriter out) {
      JsonObject body = new JsonObject().put("target", route.target().toString()).put("path", route.path());
      if (!route.policy().isEmpty()) {
        body.put("policy", route.policy().toJson());
      }
      JsonObject answer = control.put("/v1/serve/" + port, body);
      if (!json) {
        String refused = answer.getJsonObject("refused", new JsonObject()).getString(Integer.toString(port));
        out.println("funnelling public port " + port + (route.path().equals("/") ? "" : " path " + route.path())
            + " → " + route.target()
            + (refused == null ? "" : " on this node, but the server does not route it: " + refused));
      }
      print(answer, json, out);
    }
  }

  @Command(name = "gate", mixinStandardHelpOptions = true,
      description = {"Replace the gate rules of public PORT (every path on it) or of its route on PATH with the rules"
          + " given; none given clears them. The next request sees them."},
      footer = {"", "Examples:", "  funnel node serve gate 443 --allow-cidr 10.0.0.0/8 --rate-limit 20/s --state .funnel-web",
          "  funnel node serve gate 443:/hooks --verify github:/etc/funnel/gh.secret --auth off",
          "  funnel node serve gate 443 --state .funnel-web          # clears the port's rules"})
  static final class Gate extends Action {
    @Parameters(paramLabel = "PORT[:/PATH]", description = "The port, or a route on it.")
    String key;

    @Option(names = "--json", description = "Print the control's JSON.")
    boolean json;

    @picocli.CommandLine.ArgGroup(exclusive = false, heading = "%nGate rules:%n")
    ServeGateOptions gate = new ServeGateOptions();

    private ServeFlags.Key parsed;
    private GatePolicy policy;

    @Override
    void check() {
      try {
        parsed = ServeFlags.key(key, key);
        policy = gate == null ? GatePolicy.NONE : gate.policy();
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
    }

    @Override
    void run(ApiClient control, PrintWriter out) {
      JsonObject body = new JsonObject().put("policy", policy.toJson());
      if (parsed.path() != null) {
        body.put("path", parsed.path());
      }
      JsonObject answer = control.put("/v1/serve/" + parsed.port(), body);
      if (!json) {
        out.println("gate of " + parsed + ": " + policy.describe());
      }
      print(answer, json, out);
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Stop funnelling public PORT, or only its route on PATH: new requests or connections to it are refused"
          + " from now on.",
      footer = {"", "Examples:", "  funnel node serve rm 443 --state .funnel-web", "  funnel node serve rm 443:/api --state .funnel-web"})
  static final class Remove extends Action {
    @Parameters(paramLabel = "PORT[:/PATH]", description = "The public port (443, 8443 or 10000), or a route on it.")
    String key;

    @Option(names = "--json", description = "Print the control's JSON.")
    boolean json;

    private ServeFlags.Key parsed;

    @Override
    void check() {
      try {
        parsed = ServeFlags.key(key, key);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
    }

    @Override
    void run(ApiClient control, PrintWriter out) {
      JsonObject answer = control.delete("/v1/serve/" + parsed.port()
          + (parsed.path() == null ? "" : "?path=" + ApiClient.segment(parsed.path())));
      if (!json) {
        out.println("stopped funnelling " + (parsed.path() == null ? "public port " + parsed.port()
            : "public port " + parsed.port() + " path " + parsed.path()));
      }
      print(answer, json, out);
    }
  }

  private static void print(JsonObject answer, boolean json, PrintWriter out) {
    if (json) {
      out.println(answer.encodePrettily());
      return;
    }
    JsonArray serve = answer.getJsonArray("serve", new JsonArray());
    if (serve.isEmpty()) {
      out.println(answer.getString("fqdn", "this node") + " funnels nothing");
      return;
    }
    JsonObject refused = answer.getJsonObject("refused", new JsonObject());
    AdminTable table = new AdminTable("PORT", "URL", "TARGET", "GATE", "ROUTED");
    for (int i = 0; i < serve.size(); i++) {
      JsonObject e = serve.getJsonObject(i);
      int p = e.getInteger("port");
      String path = e.getString("path", "/");
      String why = refused.getString(Integer.toString(p));
      String gate;
      try {
        gate = GatePolicy.fromJson(e.getJsonObject("gate", new JsonObject())).describe();
      } catch (IllegalArgumentException ex) {
        gate = e.getJsonObject("gate", new JsonObject()).encode();
      }
      table.row(Integer.toString(p), "https://" + answer.getString("fqdn", "?") + (p == 443 ? "" : ":" + p) + path,
          e.getString("target"), gate, why == null ? "yes" : "no: " + why);
    }
    table.print(out);
    JsonObject decisions = answer.getJsonObject("decisions", new JsonObject());
    if (!decisions.isEmpty()) {
      out.println();
      out.println("gate decisions since the node started (rule/outcome: count):");
      for (String route : new java.util.TreeSet<>(decisions.fieldNames())) {
        JsonObject counts = decisions.getJsonObject(route);
        out.println("  " + route + "  " + new java.util.TreeSet<>(counts.fieldNames()).stream()
            .map(k -> k + " " + counts.getValue(k)).collect(java.util.stream.Collectors.joining(", ")));
      }
    }
  }

  /** The client of the control of the node running with {@code state}, from its control-url and control-token. */
  static ApiClient control(Path state) {
    return control(state, CALL_TIMEOUT);
  }

  /** As {@link #control(Path)}, with a bound on each call. */
  static ApiClient control(Path state, Duration timeout) {
    String url = read(state.resolve(NodeControl.URL_FILE));
    String token = read(state.resolve(NodeControl.TOKEN_FILE));
    if (url == null || token == null) {
      throw new ApiClient.ApiFailure("no running node uses " + state + " (no " + NodeControl.URL_FILE + " there): start "
          + "`funnel node --state " + state + " …` first, or pass the --state it runs with");
    }
    URI base;
    try {
      base = ApiClient.parseUrl(url);
    } catch (IllegalArgumentException e) {
      throw new ApiClient.ApiFailure(e.getMessage() + " (from " + state.resolve(NodeControl.URL_FILE) + ")");
    }
    return new ApiClient(base, token, timeout, "the node's control",
        "is the node running with --state " + state + "?");
  }

  private static String read(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8).trim();
      return s.isEmpty() ? null : s;
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new ApiClient.ApiFailure("cannot read " + file + ": " + e.getMessage());
    }
  }
}
