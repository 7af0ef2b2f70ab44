package dev.funnel.node;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the node says when the server's routing of its ports changes without a serve update of its
 * own: an admin turned Funnel off or on for the tailnet, or changed its ports, and the gateway sent a
 * new Welcome. A pure function of the refusals before and after; a port whose refusal did not change
 * says nothing.
 */
final class RefusalChanges {

  /** One log line. */
  record Line(Level level, String text) {
  }

  private RefusalChanges() {
  }

  static List<Line> between(Map<Integer, String> before, Map<Integer, String> after, String fqdn) {
    List<Line> lines = new ArrayList<>();
    new TreeMap<>(after).forEach((port, reason) -> {
      if (!reason.equals(before.get(port))) {
        lines.add(new Line(Level.WARNING, "public port " + port + " of " + fqdn + " is not routed: " + reason
            + "; clients are refused until that changes"));
      }
    });
    for (int port : new TreeSet<>(before.keySet())) {
      if (!after.containsKey(port)) {
        lines.add(new Line(Level.INFO, "public port " + port + " of " + fqdn + " is routed again"));
      }
    }
    return lines;
  }
}
