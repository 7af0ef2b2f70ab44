package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.dns.DnsOptions;
import dev.funnel.dns.push.PushOptions;
import dev.funnel.dns.push.TsigSecret;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The public DNS settings (a picocli mixin of {@code funnel server} and {@code funnel dns}). In
 * {@code funnel server} the DNS service runs only when {@code --dns-listen} is given. The clustered
 * {@code funnel dns} reads the same settings through {@link ServiceConfig} (file, environment, flags).
 *
 * <p>List values may be repeated flags or comma-separated (a file's lists arrive split at the
 * commas): an address without a {@code REGION=} (or {@code NAME=}) of its own belongs to the one
 * before it, across values; region-less frontends come first.
 */
final class DnsFlags {

  static final String LISTEN = "dns-listen";
  static final String FRONTENDS = "dns-frontends";
  static final String NAMESERVERS = "dns-ns";
  static final String HOSTMASTER = "dns-hostmaster";
  static final String GATEWAY_REGIONS = "dns-gateway-region";
  static final String CAA = "dns-caa";
  static final String TTL = "dns-ttl";
  static final String MAX_UDP = "dns-max-udp";
  static final String RATE = "dns-rate-limit";
  static final String BURST = "dns-rate-burst";
  static final String SLIP = "dns-rate-slip";
  static final String PUSH = "dns-push";
  static final String PUSH_ZONE = "dns-push-zone";
  static final String PUSH_TSIG = "dns-push-tsig";

  /** The settings keys {@link ServiceConfig} must know. */
  static final Set<String> KEYS = Set.of(LISTEN, FRONTENDS, NAMESERVERS, HOSTMASTER, GATEWAY_REGIONS, CAA, TTL,
      MAX_UDP, RATE, BURST, SLIP, PUSH, PUSH_ZONE, PUSH_TSIG);

  @Option(names = "--" + LISTEN, paramLabel = "HOST:PORT", converter = Flags.HostPortConverter.class,
      description = "Serve authoritative DNS for DOMAIN here, UDP and TCP (port 0: an ephemeral one). "
          + "funnel server: off unless given; the usual development choice is 127.0.0.1:5353 "
          + "(dig @127.0.0.1 -p 5353 NAME.TAILNET.DOMAIN). funnel dns: default 127.0.0.1:5353.")
  HostPort listen;

  @Option(names = {"--" + FRONTENDS, "--dns-frontend"}, paramLabel = "[REGION=]IP[,IP…]",
      description = "Public addresses of the frontends that A/AAAA answers give, by region; repeatable. "
          + "An address belongs to the REGION= before it (give region-less ones first). "
          + "A node gets its gateway's region's frontends, or all of them.")
  List<String> frontends;

  @Option(names = "--" + NAMESERVERS, paramLabel = "NAME[=IP,…]",
      description = "NS names at the apex, primary first; repeatable (default: ns1.DOMAIN). "
          + "An in-zone name may carry its addresses (its A/AAAA and glue).")
  List<String> nameservers;

  @Option(names = "--" + HOSTMASTER, paramLabel = "NAME", description = "The SOA mailbox (default: hostmaster.DOMAIN).")
  String hostmaster;

  @Option(names = "--" + GATEWAY_REGIONS, paramLabel = "GATEWAY=REGION",
      description = "The region of a gateway id; repeatable (in funnel server the gateway is gateway-1).")
  List<String> gatewayRegions;

  @Option(names = "--" + CAA, paramLabel = "ISSUER",
      description = "CAA issue value at the apex; repeatable; 'none' for no CAA (default: letsencrypt.org).")
  List<String> caa;

  @Option(names = "--" + TTL, paramLabel = "SECONDS",
      description = "TTL of A/AAAA answers and of negative answers (default: " + DnsOptions.DEFAULT_ADDRESS_TTL + ").")
  String ttl;

  @Option(names = "--" + MAX_UDP, paramLabel = "BYTES",
      description = "Largest UDP answer, whatever a client advertises (default: " + DnsOptions.DEFAULT_MAX_UDP_PAYLOAD + ").")
  String maxUdp;

  @Option(names = "--" + RATE, paramLabel = "PER_SECOND",
      description = "UDP answers per second per source /24 or /56; 0 = off (default: " + DnsOptions.DEFAULT_RATE_LIMIT + ").")
  String rate;

  @Option(names = "--" + BURST, paramLabel = "N",
      description = "UDP answers per source prefix allowed in a burst (default: " + DnsOptions.DEFAULT_RATE_BURST + ").")
  String burst;

  @Option(names = "--" + SLIP, paramLabel = "N",
      description = "Every Nth over-limit query gets an empty truncated answer (TCP retry), 0 = drop all "
          + "(default: " + DnsOptions.DEFAULT_RATE_SLIP + ").")
  String slip;

  @Option(names = "--" + PUSH, paramLabel = "HOST:PORT", converter = Flags.HostPortConverter.class,
      description = "Also send the records (node A/AAAA, _acme-challenge TXT, apex CAA) to this primary DNS server "
          + "as RFC 2136 updates signed with TSIG (BIND, Knot, PowerDNS), for a zone hosted elsewhere; needs --"
          + PUSH_TSIG + ". Off unless given.")
  HostPort push;

  @Option(names = "--" + PUSH_ZONE, paramLabel = "ZONE",
      description = "The zone the primary holds: DOMAIN (the default) or a zone above it.")
  String pushZone;

  @Option(names = "--" + PUSH_TSIG, paramLabel = "NAME:ALGORITHM:SECRET_FILE",
      description = "The TSIG key that signs updates and zone transfers, e.g. funnel:hmac-sha256:/etc/funnel/tsig.key. "
          + "SECRET_FILE holds the base64 secret alone, or BIND's (tsig-keygen) or Knot's (keymgr -t) key file. "
          + "The key must be allowed to update and to transfer the zone.")
  String pushTsig;

  /**
   * Without {@code --dns-frontends}, in a process whose own frontend listens on specific addresses
   * ({@code funnel server}, {@code funnel demo}): those addresses, so that a name resolves to where
   * this server's public side is (127.0.0.1 in development) instead of to nothing. A wildcard or a
   * host name gives no default: A/AAAA answers stay empty until {@code --dns-frontends} says.
   */
  void defaultFrontends(java.util.Collection<HostPort> publicListeners) {
    if (frontends != null && !frontends.isEmpty() || publicListeners.isEmpty()) {
      return;
    }
    java.util.Set<String> addresses = new java.util.LinkedHashSet<>();
    for (HostPort listener : publicListeners) {
      String host = listener.host();
      byte[] literal = io.netty.util.NetUtil.createByteArrayFromIpAddressString(host);   // null: not an IP
      if (literal == null || java.util.Arrays.equals(literal, new byte[literal.length])) {   // a wildcard
        return;
      }
      addresses.add(host);
    }
    frontends = List.of(String.join(",", addresses));
  }

  /** The DNS options from these flags for {@code domain}, or null when {@code --dns-listen} was not given. */
  DnsOptions options(String domain) {
    if (listen == null) {
      return null;
    }
    return zoneOptions(domain);
  }

  /** The zone's settings from these flags (what A/AAAA/CAA hold), whether or not DNS is served here. */
  DnsOptions zoneOptions(String domain) {
    HostPort at = listen != null ? listen : new HostPort(DnsOptions.DEFAULT_HOST, DnsOptions.DEFAULT_PORT);
    return build(domain, at, orEmpty(frontends), orEmpty(nameservers), hostmaster, orEmpty(gatewayRegions),
        caa, number(ttl, DnsOptions.DEFAULT_ADDRESS_TTL, TTL), (int) number(maxUdp, DnsOptions.DEFAULT_MAX_UDP_PAYLOAD, MAX_UDP),
        (int) number(rate, DnsOptions.DEFAULT_RATE_LIMIT, RATE), (int) number(burst, DnsOptions.DEFAULT_RATE_BURST, BURST),
        (int) number(slip, DnsOptions.DEFAULT_RATE_SLIP, SLIP));
  }

  /** The DNS options from {@code config} (file, environment, flags) for the clustered {@code funnel dns}. */
  static DnsOptions options(ServiceConfig config, String domain) {
    List<String> caa = config.list(CAA, null);
    return build(domain, config.hostPort(LISTEN, new HostPort(DnsOptions.DEFAULT_HOST, DnsOptions.DEFAULT_PORT)),
        config.list(FRONTENDS, List.of()), config.list(NAMESERVERS, List.of()), config.string(HOSTMASTER, null),
        config.list(GATEWAY_REGIONS, List.of()), caa,
        config.number(TTL, DnsOptions.DEFAULT_ADDRESS_TTL), config.integer(MAX_UDP, DnsOptions.DEFAULT_MAX_UDP_PAYLOAD),
        config.integer(RATE, DnsOptions.DEFAULT_RATE_LIMIT), config.integer(BURST, DnsOptions.DEFAULT_RATE_BURST),
        config.integer(SLIP, DnsOptions.DEFAULT_RATE_SLIP));
  }

  /** The push options from these flags for {@code domain}, or null when {@code --dns-push} was not given. */
  PushOptions pushOptions(String domain) {
    return push(push, pushZone, pushTsig, domain);
  }

  /** The push options from {@code config} for the clustered {@code funnel dns}, or null without {@code dns-push}. */
  static PushOptions pushOptions(ServiceConfig config, String domain) {
    return push(config.hostPort(PUSH, null), config.string(PUSH_ZONE, null), config.string(PUSH_TSIG, null), domain);
  }

  /**
   * {@code --dns-push}, {@code --dns-push-zone} and {@code --dns-push-tsig} checked together: the
   * secret file read and parsed. Throws {@link IllegalArgumentException} naming the flag.
   */
  static PushOptions push(HostPort primary, String zone, String tsig, String domain) {
    if (primary == null) {
      if (zone != null || tsig != null) {
        throw new IllegalArgumentException("--" + (tsig != null ? PUSH_TSIG : PUSH_ZONE) + " needs --" + PUSH
            + " HOST:PORT (the primary DNS server to update)");
      }
      return null;
    }
    if (tsig == null) {
      throw new IllegalArgumentException("--" + PUSH + " needs --" + PUSH_TSIG
          + " NAME:ALGORITHM:SECRET_FILE: updates are signed with TSIG");
    }
    String[] parts = tsig.split(":", 3);
    if (parts.length != 3 || parts[0].isBlank() || parts[1].isBlank() || parts[2].isBlank()) {
      throw new IllegalArgumentException("--" + PUSH_TSIG + " takes NAME:ALGORITHM:SECRET_FILE "
          + "(e.g. funnel:hmac-sha256:/etc/funnel/tsig.key), got '" + tsig + "'");
    }
    Path file = Path.of(parts[2].trim());
    String secret;
    try {
      secret = TsigSecret.parse(Files.readString(file));
    } catch (IOException e) {
      throw new IllegalArgumentException("--" + PUSH_TSIG + ": cannot read the secret file " + file + " ("
          + e.getClass().getSimpleName() + ")");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + PUSH_TSIG + ": " + file + " " + e.getMessage());
    }
    PushOptions options = new PushOptions()
        .setHost(primary.host())
        .setPort(primary.port())
        .setZone(zone == null ? domain : zone)
        .setTsigName(parts[0].trim())
        .setTsigAlgorithm(parts[1].trim().toLowerCase(java.util.Locale.ROOT))
        .setTsigSecret(secret);
    try {
      return options.check(domain);
    } catch (IllegalArgumentException e) {
      String why = e.getMessage();
      String flag = why.contains("TSIG") ? PUSH_TSIG : why.startsWith("zone ") || why.startsWith("the zone") ? PUSH_ZONE : PUSH;
      throw new IllegalArgumentException("--" + flag + ": " + why);
    }
  }

  private static DnsOptions build(String domain, HostPort listen, List<String> frontends, List<String> nameservers,
                                  String hostmaster, List<String> gatewayRegions, List<String> caa, long ttl,
                                  int maxUdp, int rate, int burst, int slip) {
    if (rate < 0 || burst < 0 || slip < 0 || ttl < 0) {
      throw new IllegalArgumentException("--dns-ttl, --dns-rate-limit, --dns-rate-burst and --dns-rate-slip cannot be negative");
    }
    Map<String, List<String>> regions = grouped(frontends, "", "--" + FRONTENDS);
    Map<String, List<String>> ns = grouped(nameservers, null, "--" + NAMESERVERS);
    Map<String, List<String>> nsAddresses = new LinkedHashMap<>();
    ns.forEach((name, ips) -> {
      if (!ips.isEmpty()) {
        nsAddresses.put(name, ips);
      }
    });
    Map<String, String> gateways = new LinkedHashMap<>();
    for (String entry : split(gatewayRegions)) {
      int eq = entry.indexOf('=');
      if (eq <= 0 || eq == entry.length() - 1) {
        throw new IllegalArgumentException("--" + GATEWAY_REGIONS + " takes GATEWAY=REGION, got '" + entry + "'");
      }
      gateways.put(entry.substring(0, eq), entry.substring(eq + 1));
    }
    List<String> issuers = caa == null ? DnsOptions.DEFAULT_CAA_ISSUERS
        : split(caa).stream().filter(i -> !i.equalsIgnoreCase("none")).toList();
    return new DnsOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setDomain(domain)
        .setFrontends(regions)
        .setNameservers(new ArrayList<>(ns.keySet()))
        .setNameserverAddresses(nsAddresses)
        .setHostmaster(hostmaster)
        .setGatewayRegions(gateways)
        .setCaaIssuers(issuers)
        .setAddressTtl(ttl)
        .setMaxUdpPayload(maxUdp)
        .setRateLimit(rate)
        .setRateBurst(burst)
        .setRateSlip(slip);
  }

  /**
   * {@code KEY=IP,IP} and bare entries → key → addresses. A bare IP belongs to the key before it
   * ({@code bare} when there is none; null: not allowed); a bare entry that is not an IP is a key
   * with no addresses.
   */
  static Map<String, List<String>> grouped(List<String> entries, String bare, String flag) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    String current = bare;
    for (String entry : split(entries)) {
      int eq = entry.indexOf('=');
      if (eq >= 0) {
        current = entry.substring(0, eq).trim();
        String ip = entry.substring(eq + 1).trim();
        out.computeIfAbsent(current, k -> new ArrayList<>());
        if (!ip.isEmpty()) {
          out.get(current).add(ip);
        }
      } else if (isIp(entry)) {
        if (current == null) {
          throw new IllegalArgumentException(flag + ": address " + entry + " without a name before it");
        }
        out.computeIfAbsent(current, k -> new ArrayList<>()).add(entry);
      } else if (bare == null) {
        current = entry;
        out.computeIfAbsent(current, k -> new ArrayList<>());
      } else {
        throw new IllegalArgumentException(flag + ": '" + entry + "' is not an IP address");
      }
    }
    return out;
  }

  private static boolean isIp(String text) {
    try {
      InetAddress ignored = org.xbill.DNS.Address.getByAddress(text);
      return ignored != null;
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private static List<String> split(List<String> entries) {
    List<String> out = new ArrayList<>();
    if (entries != null) {
      for (String e : entries) {
        for (String part : e.split(",")) {
          if (!part.isBlank()) {
            out.add(part.trim());
          }
        }
      }
    }
    return out;
  }

  private static List<String> orEmpty(List<String> list) {
    return list == null ? List.of() : list;
  }

  private static long number(String text, long fallback, String key) {
    if (text == null) {
      return fallback;
    }
    try {
      return Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + key + " takes a number, got '" + text + "'");
    }
  }
}
