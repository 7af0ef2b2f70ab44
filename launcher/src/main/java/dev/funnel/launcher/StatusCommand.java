package dev.funnel.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code funnel status}: what a running node makes public and whether the public path really works,
 * from the node's local control ({@code GET /v1/status}, found through {@code --state}).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    header = "Show what a running funnel node makes public, and probe that it really works.",
    description = {"Show what a running `funnel node` makes public and whether it really works: each URL with its "
        + "target, whether the server routes the port (the tailnet's policy, a public listener), the node's sessions "
        + "and link connections, its certificate (issuer, days left), what Funnel's DNS answers for its name, and a "
        + "live probe of each public port: the server dials the node's own name through a frontend's public listener, "
        + "as an outside client would, and the node checks that its own answer came back. A failure names the hop: "
        + "dns, frontend, registry, gateway, node or local target.",
        "For the operator's view of the server side, see `funnel admin status`."},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:everything public works", "1:something does not (the output says what), or the node is not running",
        "2:usage error"},
    footer = {"", "Examples:", "  funnel status --state .funnel-web", "  funnel status --state .funnel-web --json",
        "  funnel status --state .funnel-web --no-probe"})
final class StatusCommand implements Callable<Integer> {

  /** Probes run one port after another, each bounded (NodeStatus.PROBE_TIMEOUT_MILLIS). */
  static final Duration TIMEOUT = Duration.ofSeconds(75);

  @Spec
  CommandSpec spec;

  @Option(names = "--state", paramLabel = "DIR", description = "The running node's state directory (its --state; "
      + "default: .funnel-node).")
  Path state = NodeServeCommand.DEFAULT_STATE;

  @Option(names = "--json", description = "Print the node's JSON.")
  boolean json;

  @Option(names = "--no-probe", description = "Skip the live probe of the public path.")
  boolean noProbe;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      JsonObject status = NodeServeCommand.control(state, TIMEOUT).get("/v1/status" + (noProbe ? "?probe=false" : ""));
      if (json) {
        out.println(status.encodePrettily());
      } else {
        print(status, out);
      }
      return status.getBoolean("ok", false) ? 0 : 1;
    } catch (ApiClient.ApiFailure e) {
      err.println("funnel status: " + e.getMessage());
      return 1;
    } finally {
      out.flush();
      err.flush();
    }
  }

  static void print(JsonObject s, PrintWriter out) {
    out.println(s.getString("fqdn") + ": " + (s.getBoolean("ok", false) ? "OK" : "NOT OK"));
    out.println();
    JsonArray ports = s.getJsonArray("public", new JsonArray());
    for (int i = 0; i < ports.size(); i++) {
      JsonObject p = ports.getJsonObject(i);
      JsonArray routes = p.getJsonArray("routes", new JsonArray());
      if (routes.size() == 1 && "/".equals(routes.getJsonObject(0).getString("path"))) {
        JsonObject r = routes.getJsonObject(0);
        out.println(p.getString("url") + " → " + r.getString("target") + "  (gate: " + r.getString("gate", "none") + ")");
      } else {
        out.println(p.getString("url"));
        for (int j = 0; j < routes.size(); j++) {
          JsonObject r = routes.getJsonObject(j);
          String local = r.getString("localTarget");
          out.println("  " + r.getString("path") + " → " + r.getString("target") + "  (gate: " + r.getString("gate", "none") + ")"
              + (local == null || local.equals("answers") ? "" : "  NOT ANSWERING: " + local));
        }
      }
      if (p.getString("refused") != null) {
        out.println("  routed:  NO, " + p.getString("refused"));
      } else if (p.getValue("routed") == null) {
        out.println("  routed:  unknown (no session with the server)");
      } else {
        out.println("  routed:  yes");
      }
      JsonObject probe = p.getJsonObject("probe");
      if (probe != null) {
        out.println("  probe:   " + (probe.getBoolean("ok", false) ? "OK, " + probe.getString("message")
            : "FAILED at the " + probe.getString("hop") + ": " + probe.getString("message"))
            + " (" + probe.getLong("millis", 0L) + " ms in all)");
        out.println("  local target: " + probe.getString("localTarget"));
      }
    }
    out.println();
    JsonArray sessions = s.getJsonArray("sessions", new JsonArray());
    for (int i = 0; i < sessions.size(); i++) {
      JsonObject x = sessions.getJsonObject(i);
      out.println("session: " + x.getString("server") + " (gateway " + x.getString("gatewayId", "?") + "), "
          + (x.getBoolean("up", false) ? "up" : "connecting") + ", " + x.getInteger("links", 0) + " link connection(s)");
    }
    if (sessions.isEmpty()) {
      out.println("session: none (the node is reconnecting)");
    }
    JsonObject cert = s.getJsonObject("certificate");
    if (cert == null) {
      out.println("certificate: none on the node (tcp:// targets: the local server holds its own)");
    } else if (cert.getString("error") != null) {
      out.println("certificate: " + cert.getString("file") + ": " + cert.getString("error"));
    } else {
      out.println("certificate: issued by " + cert.getString("issuer") + ", " + cert.getLong("daysLeft") + " days left"
          + " (until " + cert.getString("notAfter") + ")");
    }
    JsonArray aliases = s.getJsonArray("aliases", new JsonArray());
    for (int i = 0; i < aliases.size(); i++) {
      JsonObject a = aliases.getJsonObject(i);
      String state = a.getString("state", "?");
      out.println("alias: " + a.getString("alias") + " " + state
          + ("verified".equals(state) ? "" : " (" + a.getString("reason", "") + ")"
              + (a.getString("records") == null || "refused".equals(state) ? "" : "; publish " + a.getString("records"))));
    }
    JsonObject dns = s.getJsonObject("dns", new JsonObject());
    if (Boolean.TRUE.equals(dns.getBoolean("run"))) {
      JsonArray addresses = dns.getJsonArray("addresses", new JsonArray());
      out.println("dns: Funnel's DNS on " + dns.getString("listen") + " answers "
          + (addresses.isEmpty() ? "nothing for the name" : AdminTable.list(addresses)));
    } else {
      out.println("dns: " + dns.getString("note", "not run by Funnel"));
    }
  }
}
