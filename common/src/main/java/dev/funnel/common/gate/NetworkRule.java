package dev.funnel.common.gate;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * Allow and deny lists on the public client's address (the address the edge reported in the
 * ingress offer, never a request header). Deny wins; a non-empty allow list means "everyone else is
 * denied"; both empty lets everyone in. A client whose address is not known is refused whenever
 * either list is set (fail closed).
 */
public record NetworkRule(CidrSet allow, CidrSet deny) {

  /** No lists: everyone passes. */
  public static final NetworkRule NONE = new NetworkRule(CidrSet.empty(), CidrSet.empty());

  public NetworkRule {
    Objects.requireNonNull(allow, "allow");
    Objects.requireNonNull(deny, "deny");
  }

  /** True when neither list is set (the rule decides nothing and need not run). */
  public boolean isEmpty() {
    return allow.isEmpty() && deny.isEmpty();
  }

  /**
   * Why {@code client} is refused, or empty when it may pass. Pure. The reason names the list,
   * never the address (the caller logs the address if it wants to).
   */
  public Optional<String> refusal(InetAddress client) {
    if (isEmpty()) {
      return Optional.empty();
    }
    if (client == null) {
      return Optional.of("client address unknown and a CIDR list is set");
    }
    if (deny.contains(client)) {
      return Optional.of("in --deny-cidr " + deny);
    }
    if (!allow.isEmpty() && !allow.contains(client)) {
      return Optional.of("not in --allow-cidr " + allow);
    }
    return Optional.empty();
  }
}
