package dev.funnel.common.serve;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A policy's {@code --allow-cidr} and {@code --deny-cidr} lists as a decision on the public
 * client's address (the address the edge reported in the ingress offer, never a request header).
 * Deny wins; a non-empty allow list means "everyone else is denied"; both empty lets everyone in.
 * A client whose address is not known is refused whenever either list is set (fail closed). An
 * IPv4-mapped IPv6 client ({@code ::ffff:192.0.2.7}) is matched as the IPv4 address it carries.
 */
public record NetworkRule(List<Cidrs.Cidr> allow, List<Cidrs.Cidr> deny) {

  /** No lists: everyone passes. */
  public static final NetworkRule NONE = new NetworkRule(List.of(), List.of());

  public NetworkRule {
    allow = List.copyOf(allow);
    deny = List.copyOf(deny);
  }

  /** The rule of a policy's lists (canonical spellings, as {@link GatePolicy} keeps them). */
  public static NetworkRule of(GatePolicy policy) {
    return new NetworkRule(policy.allowCidrs().stream().map(Cidrs::parse).toList(),
        policy.denyCidrs().stream().map(Cidrs::parse).toList());
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
    InetAddress address = unmapped(client);
    if (deny.stream().anyMatch(c -> c.contains(address))) {
      return Optional.of("in --deny-cidr " + spell(deny));
    }
    if (!allow.isEmpty() && allow.stream().noneMatch(c -> c.contains(address))) {
      return Optional.of("not in --allow-cidr " + spell(allow));
    }
    return Optional.empty();
  }

  private static String spell(List<Cidrs.Cidr> list) {
    return String.join(",", list.stream().map(Cidrs.Cidr::toString).toList());
  }

  /** {@code ::ffff:a.b.c.d} as {@code a.b.c.d}; any other address unchanged. */
  static InetAddress unmapped(InetAddress address) {
    byte[] b = address.getAddress();
    if (b.length != 16) {
      return address;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return address;
      }
    }
    if (b[10] != (byte) 0xff || b[11] != (byte) 0xff) {
      return address;
    }
    try {
      return InetAddress.getByAddress(Arrays.copyOfRange(b, 12, 16));
    } catch (java.net.UnknownHostException e) {
      return address;
    }
  }
}
