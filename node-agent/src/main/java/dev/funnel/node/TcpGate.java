package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.serve.GateLog;
import dev.funnel.common.serve.GateMeter;
import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.NetworkRule;
import dev.funnel.common.serve.RateLimiter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.Optional;

/**
 * The gate of a stream port ({@code tcp://}, {@code tls-terminated-tcp://}), applied to an ingress
 * offer before anything is dialled: the offer's client address ({@code funnel-ingress-src}, the
 * edge's word) against the port's {@code --allow-cidr}/{@code --deny-cidr}, then
 * {@code --rate-limit} as a connection rate per client address. A refused offer is answered
 * {@code 403}. (HTTP routes are gated in the terminator, per request; a stream is one connection,
 * so only what the offer says can decide.)
 */
public final class TcpGate {

  /** Metric and log rule names (the flags'). */
  static final String CIDR = "cidr";
  static final String RATE = "rate-limit";

  private final GatePolicy policy;
  private final NetworkRule network;
  private final RateLimiter limiter;
  private final GateLog log;
  private final MeterRegistry registry;

  TcpGate(int port, GatePolicy policy, MeterRegistry registry) {
    this.policy = policy;
    this.network = NetworkRule.of(policy);
    this.limiter = policy.rateLimit() == null ? null : new RateLimiter(policy.rateLimit());
    this.log = new GateLog("port " + port + " (" + "stream)");
    this.registry = registry;
  }

  /**
   * The rule that refuses the offer from {@code source} ({@code cidr} or {@code rate-limit}), or
   * empty to go on. Counted, and a refusal logged here with its full reason and the client's
   * address; the caller passes on only the rule's name (the gateway learns that the node refused,
   * not its lists).
   */
  Optional<String> refusal(HostPort source) {
    InetAddress client = address(source);
    String printable = client == null ? "unknown" : NetUtil.toAddressString(client);
    if (!network.isEmpty()) {
      Optional<String> denied = network.refusal(client);
      if (denied.isPresent()) {
        refused(CIDR, "denied", printable, denied.get());
        return Optional.of(CIDR);
      }
      allowed(CIDR);
    }
    if (limiter != null) {
      RateLimiter.Permit permit = limiter.acquire(client);
      if (!permit.allowed()) {
        refused(RATE, "limited", printable, "over " + limiter.rate() + " connections per client address");
        return Optional.of(RATE);
      }
      allowed(RATE);
    }
    return Optional.empty();
  }

  private void allowed(String rule) {
    GateMeter.counter(registry, rule, GateMeter.ALLOWED).increment();
    log.allowed(rule);
  }

  private void refused(String rule, String outcome, String client, String reason) {
    GateMeter.counter(registry, rule, outcome).increment();
    log.refused(rule, outcome, client, reason);
  }

  public GatePolicy policy() {
    return policy;
  }

  /** This port's decisions so far ({@code rule/outcome → count}). */
  public Map<String, Long> tallies() {
    return log.tallies();
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
