package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import java.util.Collection;
import java.util.List;

/**
 * The choice of the gateway a session slot dials next: its rotation through the configured servers
 * continues from {@code from}, skipping any server another slot is on or about to dial, so two
 * sessions are always on two different gateways. When every server is taken (fewer distinct servers
 * than slots), the next one in the rotation is taken anyway. A pure function.
 *
 * @param server the server to dial
 * @param next where the slot's rotation continues after it
 */
record ServerPick(HostPort server, int next) {

  /** Picks from {@code servers} (not empty), starting at rotation index {@code from}, avoiding {@code taken}. */
  static ServerPick of(List<HostPort> servers, int from, Collection<HostPort> taken) {
    for (int k = 0; k < servers.size(); k++) {
      int index = Math.floorMod(from + k, servers.size());
      HostPort candidate = servers.get(index);
      if (!taken.contains(candidate)) {
        return new ServerPick(candidate, index + 1);
      }
    }
    return new ServerPick(servers.get(Math.floorMod(from, servers.size())), from + 1);
  }
}
