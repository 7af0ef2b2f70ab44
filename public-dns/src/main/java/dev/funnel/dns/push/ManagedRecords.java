package dev.funnel.dns.push;

import dev.funnel.common.bus.NameStatus;
import dev.funnel.dns.Zone;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CAARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * Which records of the primary's zone Funnel owns, and what they should hold: pure functions of the
 * {@link Zone} (origin {@code DOMAIN}, frontends by region, CAA issuers, TTLs), the routable names
 * and the {@code _acme-challenge} values. No I/O.
 *
 * <p>Funnel owns, under {@code DOMAIN} only:
 * <pre>
 *   NODE.TAILNET.DOMAIN                  A, AAAA   (two labels below DOMAIN; not an NS name of the zone)
 *   _acme-challenge.….DOMAIN             TXT
 *   DOMAIN                               CAA       (only while CAA issuers are configured)
 * </pre>
 * Everything else in the zone (SOA, NS, the operator's own names) is never read into the comparison,
 * so it is never changed. A record of an owned shape that Funnel would not set is stale and goes.
 */
public final class ManagedRecords {

  static final String ACME_LABEL = "_acme-challenge";

  private ManagedRecords() {
  }

  /** What the zone should hold: the routable names' A/AAAA (their region's frontends), challenge TXT, apex CAA. */
  public static Map<RRset.Key, RRset> desired(Zone zone, List<NameStatus> routable, Map<String, List<String>> challenges) {
    Map<RRset.Key, RRset> out = new TreeMap<>();
    for (NameStatus status : routable) {
      if (status.kind() != NameStatus.Kind.ROUTABLE || status.name() == null) {
        continue;
      }
      String name = key(status.name());
      if (!owns(zone, name, Type.A)) {
        continue;
      }
      List<String> v4 = new ArrayList<>();
      List<String> v6 = new ArrayList<>();
      Name owner = absolute(name);
      for (InetAddress a : zone.frontendsFor(status.gatewayId())) {
        if (a instanceof Inet4Address) {
          if (v4.size() < Zone.MAX_ADDRESSES) {
            v4.add(new ARecord(owner, DClass.IN, zone.addressTtl(), a).rdataToString());
          }
        } else if (v6.size() < Zone.MAX_ADDRESSES) {
          v6.add(new AAAARecord(owner, DClass.IN, zone.addressTtl(), a).rdataToString());
        }
      }
      put(out, name, Type.A, zone.addressTtl(), v4);
      put(out, name, Type.AAAA, zone.addressTtl(), v6);
    }
    challenges.forEach((rawName, values) -> {
      String name = key(rawName);
      if (owns(zone, name, Type.TXT)) {
        Name owner = absolute(name);
        put(out, name, Type.TXT, zone.addressTtl(),
            values.stream().map(v -> new TXTRecord(owner, DClass.IN, zone.addressTtl(), v).rdataToString()).toList());
      }
    });
    if (!zone.caaIssuers().isEmpty()) {
      Name apex = absolute(zone.origin());
      put(out, zone.origin(), Type.CAA, zone.zoneTtl(), zone.caaIssuers().stream()
          .map(issuer -> new CAARecord(apex, DClass.IN, zone.zoneTtl(), 0, "issue", issuer).rdataToString()).toList());
    }
    return out;
  }

  /** The owned RRsets among {@code records} (a zone transfer's; SOA, NS and anything not owned are left out). */
  public static Map<RRset.Key, RRset> current(Zone zone, Collection<Record> records) {
    Map<RRset.Key, List<String>> data = new HashMap<>();
    Map<RRset.Key, Long> ttls = new HashMap<>();
    for (Record r : records) {
      if (r.getDClass() != DClass.IN) {
        continue;
      }
      String name = key(r.getName().toString(true));
      if (!owns(zone, name, r.getType())) {
        continue;
      }
      RRset.Key key = new RRset.Key(name, r.getType());
      data.computeIfAbsent(key, k -> new ArrayList<>()).add(r.rdataToString());
      ttls.merge(key, r.getTTL(), Math::min);
    }
    Map<RRset.Key, RRset> out = new TreeMap<>();
    data.forEach((key, values) -> out.put(key, new RRset(key.name(), key.type(), ttls.get(key), values)));
    return out;
  }

  /** Whether Funnel owns the RRset {@code type} at {@code name} (lower case, no trailing dot). */
  public static boolean owns(Zone zone, String name, int type) {
    String origin = zone.origin();
    if (name.equals(origin)) {
      return type == Type.CAA && !zone.caaIssuers().isEmpty();
    }
    if (!name.endsWith("." + origin)) {
      return false;
    }
    String below = name.substring(0, name.length() - origin.length() - 1);
    String[] labels = below.split("\\.", -1);
    return switch (type) {
      case Type.A, Type.AAAA -> labels.length == 2 && !labels[0].equals(ACME_LABEL)
          && !zone.nameservers().contains(name);
      case Type.TXT -> labels.length >= 2 && labels[0].equals(ACME_LABEL);
      default -> false;
    };
  }

  private static void put(Map<RRset.Key, RRset> out, String name, int type, long ttl, List<String> data) {
    if (!data.isEmpty()) {
      RRset set = new RRset(name, type, ttl, data);
      out.put(set.key(), set);
    }
  }

  static String key(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }

  static Name absolute(String key) {
    return Name.fromConstantString(key + ".");
  }
}
