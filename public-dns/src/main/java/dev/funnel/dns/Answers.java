package dev.funnel.dns;

import dev.funnel.common.bus.NameStatus;
import dev.funnel.dns.DnsQuery.Query;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CAARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * What the authoritative server answers: pure functions of a parsed {@link Query} and a
 * {@link ZoneSnapshot}. No I/O, no clock, no logging.
 *
 * <p>The zone, below its origin {@code DOMAIN}:
 * <pre>
 *   DOMAIN                          SOA, NS, CAA (issue, one per issuer)
 *   NS.DOMAIN                       A/AAAA of an in-zone name server, when configured
 *   TAILNET.DOMAIN                  exists (no records) while the tailnet has Funnel on
 *   NODE.TAILNET.DOMAIN             A/AAAA: the frontends of its gateway's region, while routable
 *   _acme-challenge.NODE.TAILNET.DOMAIN   TXT, while a challenge value is set
 * </pre>
 * Anything else under {@code DOMAIN} is NXDOMAIN; a name that exists without the asked type is
 * NODATA (NOERROR, empty answer, the SOA in authority, RFC 2308); anything outside is REFUSED (no
 * recursion), as are zone transfers and classes other than IN.
 */
public final class Answers {

  /** The SOA's timers (RFC 1912 section 2.2 ranges); the minimum is the negative-caching TTL, {@link Zone#addressTtl()}. */
  static final long SOA_REFRESH = 3600;
  static final long SOA_RETRY = 600;
  static final long SOA_EXPIRE = 1_209_600;
  /** BADVERS (RFC 6891): 16, carried as extended RCODE 1 in the OPT record. */
  static final int BADVERS = 16;

  private Answers() {
  }

  /** The answer to send (before encoding): RCODE, AA, the three sections, and how the query ended. */
  public record Response(int rcode, boolean authoritative, List<Record> answer, List<Record> authority,
                         List<Record> additional, Outcome outcome) {
    public Response {
      answer = List.copyOf(answer);
      authority = List.copyOf(authority);
      additional = List.copyOf(additional);
    }
  }

  /** A response's bytes; {@code truncated} when it did not fit and only the header and question went (TC set). */
  public record Encoded(byte[] wire, boolean truncated) {
  }

  /**
   * The names {@link #decide} needs the registry's word on for {@code query}: its name when that is
   * {@code TAILNET.DOMAIN} or {@code NODE.TAILNET.DOMAIN} and not a name the zone itself knows;
   * otherwise none. Lower case, no trailing dot.
   */
  public static List<String> lookups(Query query, Zone zone, Map<String, List<String>> challenges) {
    if (refusal(query, zone) != null) {
      return List.of();
    }
    int below = labelsBelow(query.name(), zone);
    String key = key(query.name());
    if ((below == 1 || below == 2) && !isZoneName(key, zone) && !challenges.containsKey(key)) {
      return List.of(key);
    }
    return List.of();
  }

  /** The answer to {@code query} from {@code snapshot}. */
  public static Response decide(Query query, ZoneSnapshot snapshot) {
    Zone zone = snapshot.zone();
    Response refused = refusal(query, zone);
    if (refused != null) {
      return refused;
    }
    Name qname = query.name();
    String key = key(qname);
    int type = query.type();
    int below = labelsBelow(qname, zone);

    if (below == 0) {
      return apex(query, snapshot);
    }
    if (isZoneName(key, zone)) {
      List<InetAddress> ns = zone.nameserverAddresses().getOrDefault(key, List.of());
      return addresses(qname, type, ns, zone.zoneTtl(), snapshot);
    }
    List<String> values = snapshot.challenges().get(key);
    if (values != null) {
      if (type != Type.TXT && type != Type.ANY) {
        return noData(snapshot);
      }
      List<Record> txt = new ArrayList<>();
      for (String value : values) {
        txt.add(new TXTRecord(qname, DClass.IN, zone.addressTtl(), value));
      }
      return positive(txt, List.of());
    }
    if (below == 1 || below == 2) {
      NameStatus status = snapshot.names().get(key);
      if (status == null) {
        return new Response(Rcode.SERVFAIL, false, List.of(), List.of(), List.of(), Outcome.SERVFAIL);
      }
      if (below == 2 && status.kind() == NameStatus.Kind.ROUTABLE) {
        return addresses(qname, type, zone.frontendsFor(status.gatewayId()), zone.addressTtl(), snapshot);
      }
      if (below == 1 && status.kind() == NameStatus.Kind.TAILNET) {
        return noData(snapshot);
      }
    }
    if (hasNamesBelow(key, zone, snapshot)) {
      return noData(snapshot);
    }
    return new Response(Rcode.NXDOMAIN, true, List.of(), List.of(soa(snapshot, true)), List.of(), Outcome.NXDOMAIN);
  }

  /** The largest answer {@code query} may get over UDP: 512 without EDNS, else what it advertised up to the cap. */
  public static int udpLimit(Query query, Zone zone) {
    return query.hasEdns() ? Math.min(query.ednsPayload(), zone.maxUdpPayload()) : DnsQuery.MIN_UDP_PAYLOAD;
  }

  /**
   * {@code response} on the wire, within {@code limit} bytes: whole, or (when it does not fit) the
   * header, question and OPT only, with TC set, so the client asks again over TCP. The OPT record is
   * echoed when the query had one, advertising {@code zone.maxUdpPayload()}.
   */
  public static Encoded encode(Query query, Response response, int limit, Zone zone) {
    byte[] whole = build(query, response, true, false, zone).toWire();
    if (whole.length <= limit) {
      return new Encoded(whole, false);
    }
    return new Encoded(build(query, response, false, true, zone).toWire(), true);
  }

  /** An empty answer with TC set: the rate limiter's "slip", which a real client follows over TCP. */
  public static byte[] slip(Query query, Zone zone) {
    Response empty = new Response(Rcode.NOERROR, false, List.of(), List.of(), List.of(), Outcome.RATE_LIMITED);
    return build(query, empty, false, true, zone).toWire();
  }

  // ---------------------------------------------------------------- the parts

  /** The refusals that need no data: another opcode, EDNS version, class, a transfer, or outside the zone. */
  private static Response refusal(Query query, Zone zone) {
    if (!DnsQuery.isQuery(query.opcode())) {
      return new Response(Rcode.NOTIMP, false, List.of(), List.of(), List.of(), Outcome.REFUSED);
    }
    if (query.hasEdns() && query.ednsVersion() > 0) {
      return new Response(BADVERS, false, List.of(), List.of(), List.of(), Outcome.REFUSED);
    }
    if (query.dnsClass() != DClass.IN || query.type() == Type.AXFR || query.type() == Type.IXFR
        || labelsBelow(query.name(), zone) < 0) {
      return new Response(Rcode.REFUSED, false, List.of(), List.of(), List.of(), Outcome.REFUSED);
    }
    return null;
  }

  private static Response apex(Query query, ZoneSnapshot snapshot) {
    Zone zone = snapshot.zone();
    Name origin = query.name();
    switch (query.type()) {
      case Type.SOA, Type.ANY -> {
        // ANY gets one RRset (RFC 8482), the SOA: it cannot be used to amplify.
        return positive(List.of(soa(snapshot, false)), List.of());
      }
      case Type.NS -> {
        List<Record> ns = new ArrayList<>();
        List<Record> glue = new ArrayList<>();
        for (String n : zone.nameservers()) {
          Name target = absolute(n);
          ns.add(new NSRecord(origin, DClass.IN, zone.zoneTtl(), target));
          for (InetAddress a : zone.nameserverAddresses().getOrDefault(n, List.of())) {
            glue.add(address(target, a, zone.zoneTtl()));
          }
        }
        return positive(ns, glue);
      }
      case Type.CAA -> {
        if (zone.caaIssuers().isEmpty()) {
          return noData(snapshot);
        }
        List<Record> caa = new ArrayList<>();
        for (String issuer : zone.caaIssuers()) {
          caa.add(new CAARecord(origin, DClass.IN, zone.zoneTtl(), 0, "issue", issuer));
        }
        return positive(caa, List.of());
      }
      default -> {
        return noData(snapshot);
      }
    }
  }

  /** A/AAAA (ANY: the A set, or AAAA when there is none) from {@code candidates}; other types NODATA. */
  private static Response addresses(Name owner, int type, List<InetAddress> candidates, long ttl, ZoneSnapshot snapshot) {
    List<Record> v4 = new ArrayList<>();
    List<Record> v6 = new ArrayList<>();
    for (InetAddress a : candidates) {
      List<Record> into = a instanceof Inet4Address ? v4 : v6;
      if (into.size() < Zone.MAX_ADDRESSES) {
        into.add(address(owner, a, ttl));
      }
    }
    List<Record> chosen = switch (type) {
      case Type.A -> v4;
      case Type.AAAA -> v6;
      case Type.ANY -> v4.isEmpty() ? v6 : v4;
      default -> List.of();
    };
    return chosen.isEmpty() ? noData(snapshot) : positive(chosen, List.of());
  }

  private static Record address(Name owner, InetAddress a, long ttl) {
    return a instanceof Inet6Address v6 ? new AAAARecord(owner, DClass.IN, ttl, v6) : new ARecord(owner, DClass.IN, ttl, a);
  }

  private static Response positive(List<Record> answer, List<Record> additional) {
    return new Response(Rcode.NOERROR, true, answer, List.of(), additional, Outcome.ANSWERED);
  }

  private static Response noData(ZoneSnapshot snapshot) {
    return new Response(Rcode.NOERROR, true, List.of(), List.of(soa(snapshot, true)), List.of(), Outcome.NODATA);
  }

  /**
   * The zone's SOA; in a negative answer its TTL is the lower of its own and its minimum (RFC 2308
   * section 3), so "no such name" is cached no longer than an address.
   */
  private static SOARecord soa(ZoneSnapshot snapshot, boolean negative) {
    Zone zone = snapshot.zone();
    long ttl = negative ? Math.min(zone.zoneTtl(), zone.addressTtl()) : zone.zoneTtl();
    return new SOARecord(absolute(zone.origin()), DClass.IN, ttl, absolute(zone.nameservers().get(0)),
        absolute(zone.hostmaster()), snapshot.serial() & 0xFFFF_FFFFL, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE,
        zone.addressTtl());
  }

  /** An empty non-terminal: some name the zone holds lies below {@code key}. */
  private static boolean hasNamesBelow(String key, Zone zone, ZoneSnapshot snapshot) {
    String suffix = "." + key;
    return snapshot.challenges().keySet().stream().anyMatch(n -> n.endsWith(suffix))
        || zone.nameservers().stream().anyMatch(n -> n.endsWith(suffix));
  }

  /** An in-zone name server's own name. */
  private static boolean isZoneName(String key, Zone zone) {
    return zone.nameservers().contains(key);
  }

  /** How many labels {@code name} has below the origin: 0 at the apex, -1 outside the zone. */
  static int labelsBelow(Name name, Zone zone) {
    Name origin = absolute(zone.origin());
    if (!name.subdomain(origin)) {
      return -1;
    }
    return name.labels() - origin.labels();
  }

  /** The lookup key of a name: lower case, no trailing dot. */
  static String key(Name name) {
    return name.toString(true).toLowerCase(Locale.ROOT);
  }

  private static Name absolute(String key) {
    return Name.fromConstantString(key + ".");
  }

  /** The message for {@code response}; without records and with TC when {@code truncated}. */
  private static Message build(Query query, Response response, boolean withRecords, boolean truncated, Zone zone) {
    Message m = new Message(query.id());
    var h = m.getHeader();
    h.setFlag(Flags.QR);
    h.setOpcode(query.opcode());
    if (query.recursionDesired()) {
      h.setFlag(Flags.RD);
    }
    if (query.checkingDisabled()) {
      h.setFlag(Flags.CD);
    }
    if (response.authoritative()) {
      h.setFlag(Flags.AA);
    }
    if (truncated) {
      h.setFlag(Flags.TC);
    }
    h.setRcode(response.rcode() & 0xF);
    m.addRecord(query.question(), Section.QUESTION);
    if (withRecords) {
      response.answer().forEach(r -> m.addRecord(r, Section.ANSWER));
      response.authority().forEach(r -> m.addRecord(r, Section.AUTHORITY));
      response.additional().forEach(r -> m.addRecord(r, Section.ADDITIONAL));
    }
    if (query.hasEdns()) {
      m.addRecord(new OPTRecord(zone.maxUdpPayload(), response.rcode() >>> 4, 0,
          query.dnssecOk() ? ExtendedFlags.DO : 0), Section.ADDITIONAL);
    }
    return m;
  }
}
