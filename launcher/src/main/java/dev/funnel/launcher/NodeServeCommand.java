package dev.funnel.launcher;

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
    description = {"Change what a running `funnel node` funnels, without restarting it: list the public ports it "
        + "funnels, add or replace one, or stop funnelling one (new connections to it are refused at once).",
        "Changes last until the node stops; its --funnel flags are the configuration it starts with."},
    subcommands = {NodeServeCommand.ListAll.class, NodeServeCommand.Add.class, NodeServeCommand.Remove.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:done", "1:the node refused the change, or is not running", "2:usage error"},
    footer = {"", "Examples:",
        "  funnel node serve list --state .funnel-web",
        "  funnel node serve add 8443=tcp://127.0.0.1:9443 --state .funnel-web",
        "  funnel node serve rm 443 --state .funnel-web"})
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
      description = {"Funnel public PORT (443, 8443, 10000) to TARGET from now on, replacing the port's target if it "
          + "had one. The tailnet's admin must allow the port too.",
          "TARGET: tcp://HOST:PORT | http://HOST:PORT[/path] | https+insecure://HOST:PORT | tls-terminated-tcp://HOST:PORT"},
      footer = {"", "Examples:", "  funnel node serve add 443=tcp://127.0.0.1:9443 --state .funnel-web",
          "  funnel node serve add 8443=http://127.0.0.1:3000 --state .funnel-web"})
  static final class Add extends Action {
    @Parameters(paramLabel = "PORT=TARGET", description = "The public port and where it goes.")
    String entry;

    @Option(names = "--json", description = "Print the control's JSON.")
    boolean json;

    private int port;
    private String target;

    @Override
    void check() {
      try {
        var parsed = Flags.funnels(java.util.List.of(entry)).entrySet().iterator().next();
        port = parsed.getKey();
        target = parsed.getValue().toString();
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage().replace("--funnel", "PORT=TARGET"));
      }
    }

    @Override
    void run(ApiClient control, PrintWriter out) {
      JsonObject answer = control.put("/v1/serve/" + port, new JsonObject().put("target", target));
      if (!json) {
        out.println("funnelling public port " + port + " → " + target);
      }
      print(answer, json, out);
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Stop funnelling public PORT: new connections to it are refused from now on.",
      footer = {"", "Example:", "  funnel node serve rm 443 --state .funnel-web"})
  static final class Remove extends Action {
    @Parameters(paramLabel = "PORT", description = "The public port: 443, 8443 or 10000.")
    int port;

    @Option(names = "--json", description = "Print the control's JSON.")
    boolean json;

    @Override
    void check() {
      if (!dev.funnel.common.PublicPorts.isAllowed(port)) {
        throw new ParameterException(spec.commandLine(), "public port " + port + " is not a Funnel port (443, 8443, 10000)");
      }
    }

    @Override
    void run(ApiClient control, PrintWriter out) {
      JsonObject answer = control.delete("/v1/serve/" + port);
      if (!json) {
        out.println("stopped funnelling public port " + port);
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
    AdminTable table = new AdminTable("PORT", "URL", "TARGET");
    for (int i = 0; i < serve.size(); i++) {
      JsonObject e = serve.getJsonObject(i);
      int p = e.getInteger("port");
      table.row(Integer.toString(p), "https://" + answer.getString("fqdn", "?") + (p == 443 ? "" : ":" + p) + "/",
          e.getString("target"));
    }
    table.print(out);
  }

  /** The client of the control of the node running with {@code state}, from its control-url and control-token. */
  static ApiClient control(Path state) {
    return control(state, CALL_TIMEOUT);
  }

  /** The running node's local control, with a bound on each call. */
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
