package dev.funnel.launcher;

import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServePort;
import dev.funnel.common.serve.ServeRoute;
import dev.funnel.terminator.gate.GateChain;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Which gate rules of a serve config this build cannot enforce, said before anything starts (exit 2, or a 400 at run time). */
final class GateSupport {

  private GateSupport() {
  }

  /** One line per route asking for a rule no shipped gate enforces; empty when all can be served. */
  static List<String> unsupported(ServePort port) {
    GateChain chain = GateChain.standard();
    List<String> out = new ArrayList<>();
    for (ServeRoute r : port.routes()) {
      List<GateChain.Step> missing = chain.unsupported(port.effective(r));
      if (!missing.isEmpty()) {
        out.add("port " + port.port() + (r.path().equals("/") ? "" : ":" + r.path()) + ": this build of Funnel cannot"
            + " enforce " + missing.stream().map(s -> "--" + (s == GateChain.Step.NETWORK ? "allow-cidr/--deny-cidr" : s.rule))
            .collect(Collectors.joining(", ")) + " yet; remove it or use a build that has it");
      }
    }
    return out;
  }

  /** Throws IllegalArgumentException (a usage error, exit 2) naming the first route that asks for too much. */
  static void check(ServeConfig serve) {
    for (ServePort p : serve.ports().values()) {
      List<String> missing = unsupported(p);
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException(missing.get(0));
      }
    }
  }
}
