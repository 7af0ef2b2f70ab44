package dev.funnel.registry.store;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A tailnet: an organisation's group of nodes. {@code funnel} is the admin's half of the double
 * opt-in; {@code ports} are the public ports its nodes may be reached on (sorted, distinct).
 */
public record Tailnet(String name, boolean funnel, List<Integer> ports, Instant createdAt) {

  public Tailnet {
    ports = List.copyOf(new TreeSet<>(ports));
  }

  public boolean allows(int port) {
    return ports.contains(port);
  }

  public Tailnet with(Boolean newFunnel, Set<Integer> newPorts) {
    return new Tailnet(name, newFunnel == null ? funnel : newFunnel,
        newPorts == null ? ports : List.copyOf(newPorts), createdAt);
  }
}
