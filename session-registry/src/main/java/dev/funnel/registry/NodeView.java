package dev.funnel.registry;

import dev.funnel.common.bus.PortRefusals;
import dev.funnel.registry.store.NodeIdentity;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A node identity with its live state, as the console and {@code GET /v1/nodes} show it.
 *
 * @param gateways     the gateways of its live sessions, newest first
 * @param ports        the ports of its newest session
 * @param refused      the ports it funnels that the public side does not route, with why ({@link PortRefusals})
 * @param certNotAfter when the node's certificate expires, as it last said through a gateway; null
 *                     while unknown (not said since this registry started, or no certificate: tcp:// only)
 */
public record NodeView(NodeIdentity node, String fqdn, boolean online, List<String> gateways, List<Integer> ports,
                       Map<Integer, String> refused, Instant certNotAfter) {

  public NodeView(NodeIdentity node, String fqdn, boolean online, List<String> gateways, List<Integer> ports,
                  Map<Integer, String> refused) {
    this(node, fqdn, online, gateways, ports, refused, null);
  }

  /** Whole days until the certificate expires (negative once expired); null when unknown. */
  public Long certDaysLeft(Instant now) {
    return CertificateExpiries.daysLeft(certNotAfter, now);
  }
}
