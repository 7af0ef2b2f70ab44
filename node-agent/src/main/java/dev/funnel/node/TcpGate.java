package dev.funnel.node;

import dev.funnel.common.gate.GateDecisions;
import dev.funnel.common.gate.GateDecisions.Outcome;
import dev.funnel.common.gate.GateDecisions.Rule;
import dev.funnel.common.gate.NetworkRule;
import dev.funnel.common.gate.Rate;
import dev.funnel.common.gate.RateLimiter;
import dev.funnel.common.net.HostPort;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.Optional;

/**
 * The gate of a {@code tcp://} port, applied to an ingress offer before the local target is
 * dialled: the offer's client address ({@code funnel-ingress-src}, the edge's word) against the
 * CIDR lists, then a connection rate per client address. A refused offer is answered {@code 403}
 * and nothing is dialled. (HTTP ports are gated in the terminator, per request; a {@code tcp://}
 * stream is TLS the node cannot read, so only what the offer says can decide.)
 */
public final class TcpGate {

  /** What a {@code tcp://} port's gate checks; {@code connectionRate} null for none. */
  public record Rules(NetworkRule network, Rate connectionRate) {
    public Rules {
      Objects.requireNonNull(network, "network");
    }

    public boolean isEmpty() {
      return network.isEmpty() && connectionRate == null;
    }

    @Override
    public String toString() {
      StringBuilder out = new StringBuilder();
      if (!network.allow().isEmpty()) {
        out.append("allow-cidr ").append(network.allow());
      }
      if (!network.deny().isEmpty()) {
        out.append(out.length() > 0 ? "; " : "").append("deny-cidr ").append(network.deny());
      }
      if (connectionRate != null) {
        out.append(out.length() > 0 ? "; " : "").append("rate-limit ").append(connectionRate).append(" connections");
      }
      return out.toString();
    }
  }

  private final Rules rules;
  private final RateLimiter limiter;
  private final GateDecisions decisions;

  TcpGate(int port, Rules rules, MeterRegistry registry) {
    this.rules = rules;
    this.limiter = rules.connectionRate() == null ? null : new RateLimiter(rules.connectionRate());
    this.decisions = new GateDecisions(registry, "port " + port + " (tcp)");
    if (!rules.network().isEmpty()) {
      decisions.register(Rule.CIDR, Outcome.DENIED);
    }
    if (limiter != null) {
      decisions.register(Rule.RATE, Outcome.LIMITED);
    }
  }

  /**
   * The rule that refuses the offer from {@code source} ({@code cidr} or {@code rate}), or empty to
   * go on. Counted, and a refusal logged here with its full reason; the caller passes on only the
   * rule's name (the gateway learns that the node refused, not its lists).
   */
  Optional<String> refusal(HostPort source) {
    InetAddress client = address(source);
    String printable = client == null ? "unknown" : NetUtil.toAddressString(client);
    if (!rules.network().isEmpty()) {
      Optional<String> denied = rules.network().refusal(client);
      if (denied.isPresent()) {
        decisions.refused(Rule.CIDR, Outcome.DENIED, printable, denied.get());
        return Optional.of(Rule.CIDR.label);
      }
      decisions.allowed(Rule.CIDR);
    }
    if (limiter != null) {
      RateLimiter.Permit permit = limiter.acquire(client);
      if (!permit.allowed()) {
        String reason = "over " + limiter.rate() + " connections per client address";
        decisions.refused(Rule.RATE, Outcome.LIMITED, printable, reason);
        return Optional.of(Rule.RATE.label);
      }
      decisions.allowed(Rule.RATE);
    }
    return Optional.empty();
  }

  Rules rules() {
    return rules;
  }

  /** This port's decisions so far ({@code rule/outcome → count}). */
  public java.util.Map<String, Long> tallies() {
    return decisions.tallies();
  }

  /** The offer's source host as an address (IP literals only, never a lookup); null if it is not one. */
  static InetAddress address(HostPort source) {
    byte[] bytes = source == null ? null : NetUtil.createByteArrayFromIpAddressString(source.host());
    if (bytes == null) {
      return null;
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
