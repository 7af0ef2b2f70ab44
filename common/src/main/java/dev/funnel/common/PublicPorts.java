package dev.funnel.common;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** The public ports Funnel may ever listen on, as in Tailscale Funnel. */
public final class PublicPorts {

  public static final Set<Integer> ALLOWED = Set.of(443, 8443, 10000);

  private PublicPorts() {
  }

  public static boolean isAllowed(int port) {
    return ALLOWED.contains(port);
  }

  /** Parses "443,8443" into a sorted set; throws IllegalArgumentException naming the bad entry. */
  public static Set<Integer> parseList(String csv) {
    Set<Integer> ports = new TreeSet<>();
    for (String part : csv.split(",")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int port;
      try {
        port = Integer.parseInt(p);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("not a port: " + p);
      }
      if (!isAllowed(port)) {
        throw new IllegalArgumentException("port " + port + " is not a Funnel port (443, 8443, 10000)");
      }
      ports.add(port);
    }
    return ports;
  }

  public static List<Integer> sorted(Set<Integer> ports) {
    List<Integer> list = new ArrayList<>(new TreeSet<>(ports));
    return List.copyOf(list);
  }
}
