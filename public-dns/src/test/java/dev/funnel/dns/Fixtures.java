package dev.funnel.dns;

import dev.funnel.common.bus.NameStatus;
import dev.funnel.dns.DnsQuery.Query;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/** The test zone and queries made by dnsjava, as a client would send them. */
final class Fixtures {

  static final String DOMAIN = "funnel.test";

  private Fixtures() {
  }

  static DnsOptions options() {
    return new DnsOptions().setDomain(DOMAIN)
        .setNameservers(List.of("ns1." + DOMAIN, "ns2.example.net"))
        .setNameserverAddresses(Map.of("ns1." + DOMAIN, List.of("192.0.2.53")))
        .setFrontends(Map.of(
            "eu", List.of("192.0.2.1", "192.0.2.2", "2001:db8::1"),
            "us", List.of("198.51.100.1")))
        .setGatewayRegions(Map.of("gw-eu", "eu", "gw-us", "us"));
  }

  static final Zone ZONE = Zone.of(options());

  /** web.demo on an eu gateway, api.demo on a gateway with no region, tailnet demo, off.demo not routable. */
  static ZoneSnapshot snapshot(Map<String, NameStatus> names) {
    return new ZoneSnapshot(ZONE, 2026120201L, names,
        Map.of("_acme-challenge.web.demo." + DOMAIN, List.of("token-1", "token-2")));
  }

  static final Map<String, NameStatus> NAMES = Map.of(
      "web.demo." + DOMAIN, new NameStatus("web.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-eu"),
      "us.demo." + DOMAIN, new NameStatus("us.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-us"),
      "api.demo." + DOMAIN, new NameStatus("api.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-elsewhere"),
      "off.demo." + DOMAIN, NameStatus.none("off.demo." + DOMAIN),
      "demo." + DOMAIN, new NameStatus("demo." + DOMAIN, NameStatus.Kind.TAILNET, null),
      "nope." + DOMAIN, NameStatus.none("nope." + DOMAIN));

  static byte[] queryWire(String name, int type, int dnsClass, int ednsPayload) {
    Message m = Message.newQuery(Record.newRecord(Name.fromConstantString(name.endsWith(".") ? name : name + "."),
        type, dnsClass));
    m.getHeader().setID(4242);
    m.getHeader().unsetFlag(Flags.RD);
    if (ednsPayload >= 0) {
      m.addRecord(new OPTRecord(ednsPayload, 0, 0), Section.ADDITIONAL);
    }
    return m.toWire();
  }

  static Query query(String name, int type) {
    return (Query) DnsQuery.parse(queryWire(name, type, DClass.IN, 1232));
  }
}
