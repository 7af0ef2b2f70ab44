package dev.funnel.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.xbill.DNS.Address;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * The zone's fixed part, checked once from {@link DnsOptions}: its origin, NS and SOA names, the
 * frontends' addresses by region, the gateway → region map, CAA issuers and TTLs. Immutable.
 * Names are kept as lower-case strings without the trailing dot (the keys of every lookup here).
 */
public record Zone(String origin, List<String> nameservers, Map<String, List<InetAddress>> nameserverAddresses,
                   String hostmaster, Map<String, List<InetAddress>> frontends, List<InetAddress> allFrontends,
                   Map<String, String> gatewayRegions, List<String> caaIssuers, long addressTtl, long zoneTtl,
                   int maxUdpPayload) {

  /** Addresses one answer may carry per family: the answer stays small whatever is configured. */
  public static final int MAX_ADDRESSES = 16;

  public Zone {
    nameservers = List.copyOf(nameservers);
    nameserverAddresses = Map.copyOf(nameserverAddresses);
    frontends = Map.copyOf(frontends);
    allFrontends = List.copyOf(allFrontends);
    gatewayRegions = Map.copyOf(gatewayRegions);
    caaIssuers = List.copyOf(caaIssuers);
  }

  /** Checks {@code options}; throws {@link IllegalArgumentException} saying which setting is wrong. */
  public static Zone of(DnsOptions options) {
    String origin = name("domain", options.getDomain());
    List<String> ns = new ArrayList<>();
    for (String n : options.getNameservers().isEmpty() ? List.of("ns1." + origin) : options.getNameservers()) {
      ns.add(name("nameserver", n));
    }
    Map<String, List<InetAddress>> nsAddresses = new LinkedHashMap<>();
    options.getNameserverAddresses().forEach((n, ips) -> {
      String key = name("nameserver", n);
      if (!key.endsWith("." + origin)) {
        throw new IllegalArgumentException("nameserver " + n + " has addresses but is not under " + origin);
      }
      nsAddresses.put(key, addresses("nameserver " + n, ips));
    });
    String hostmaster = name("hostmaster", options.getHostmaster() == null ? "hostmaster." + origin
        : options.getHostmaster());
    Map<String, List<InetAddress>> frontends = new LinkedHashMap<>();
    LinkedHashSet<InetAddress> all = new LinkedHashSet<>();
    options.getFrontends().forEach((region, ips) -> {
      List<InetAddress> list = addresses("frontends of region '" + region + "'", ips);
      frontends.put(region, list);
      all.addAll(list);
    });
    for (String issuer : options.getCaaIssuers()) {
      if (issuer.isBlank() || issuer.chars().anyMatch(c -> c <= ' ' || c == '"' || c > '~')) {
        throw new IllegalArgumentException("CAA issuer '" + issuer + "' is not a domain name");
      }
    }
    if (options.getAddressTtl() < 0 || options.getZoneTtl() < 0) {
      throw new IllegalArgumentException("TTLs cannot be negative");
    }
    if (options.getMaxUdpPayload() < DnsQuery.MIN_UDP_PAYLOAD || options.getMaxUdpPayload() > 4096) {
      throw new IllegalArgumentException("max UDP payload must be within 512..4096, got " + options.getMaxUdpPayload());
    }
    return new Zone(origin, ns, nsAddresses, hostmaster, frontends, new ArrayList<>(all), options.getGatewayRegions(),
        options.getCaaIssuers(), options.getAddressTtl(), options.getZoneTtl(), options.getMaxUdpPayload());
  }

  /** The frontends for a node held by {@code gatewayId}: its region's, or all when it has none. */
  public List<InetAddress> frontendsFor(String gatewayId) {
    String region = gatewayId == null ? null : gatewayRegions.get(gatewayId);
    List<InetAddress> regional = region == null ? null : frontends.get(region);
    return regional == null || regional.isEmpty() ? allFrontends : regional;
  }

  /** {@code name} as a key: lower case, no trailing dot; a valid absolute DNS name or an exception. */
  static String name(String what, String name) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException(what + " is empty");
    }
    String n = name.toLowerCase(Locale.ROOT);
    n = n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    try {
      Name.fromString(n + ".");
    } catch (TextParseException e) {
      throw new IllegalArgumentException(what + " '" + name + "' is not a DNS name: " + e.getMessage());
    }
    return n;
  }

  private static List<InetAddress> addresses(String what, List<String> ips) {
    List<InetAddress> out = new ArrayList<>();
    for (String ip : ips) {
      try {
        // Literals only: Address parses without ever asking a resolver.
        out.add(Address.getByAddress(ip.trim()));
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException(what + ": '" + ip + "' is not an IP address");
      }
    }
    if (out.stream().filter(a -> a instanceof Inet4Address).count() > MAX_ADDRESSES
        || out.stream().filter(a -> !(a instanceof Inet4Address)).count() > MAX_ADDRESSES) {
      throw new IllegalArgumentException(what + ": more than " + MAX_ADDRESSES + " addresses of one family");
    }
    return out;
  }
}
