package dev.funnel.dns.push;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.bus.NameStatus;
import dev.funnel.dns.DnsOptions;
import dev.funnel.dns.Zone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.Master;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/** Which records Funnel owns, what it wants them to hold, and what a transfer says they hold. */
class ManagedRecordsTest {

  static final String DOMAIN = "funnel.test";

  static DnsOptions options() {
    return new DnsOptions().setDomain(DOMAIN)
        .setNameservers(List.of("ns1." + DOMAIN, "ns.infra." + DOMAIN))
        .setFrontends(Map.of(
            "eu", List.of("192.0.2.1", "192.0.2.2", "2001:db8::1"),
            "us", List.of("198.51.100.1")))
        .setGatewayRegions(Map.of("gw-eu", "eu", "gw-us", "us"));
  }

  static final Zone ZONE = Zone.of(options());

  static Stream<Arguments> owned() {
    return Stream.of(
        Arguments.of("web.demo." + DOMAIN, Type.A, true),
        Arguments.of("web.demo." + DOMAIN, Type.AAAA, true),
        Arguments.of("web.demo." + DOMAIN, Type.TXT, false),
        Arguments.of("web.demo." + DOMAIN, Type.MX, false),
        Arguments.of("web.demo." + DOMAIN, Type.CNAME, false),
        Arguments.of("demo." + DOMAIN, Type.A, false),
        Arguments.of("ns1." + DOMAIN, Type.A, false),
        Arguments.of("ns.infra." + DOMAIN, Type.A, false),
        Arguments.of("a.web.demo." + DOMAIN, Type.A, false),
        Arguments.of("_acme-challenge.web.demo." + DOMAIN, Type.TXT, true),
        Arguments.of("_acme-challenge.web.demo." + DOMAIN, Type.A, false),
        Arguments.of("_acme-challenge.demo." + DOMAIN, Type.TXT, true),
        Arguments.of("_acme-challenge." + DOMAIN, Type.TXT, false),
        Arguments.of("_acme-challenge.x." + DOMAIN, Type.A, false),
        Arguments.of(DOMAIN, Type.CAA, true),
        Arguments.of(DOMAIN, Type.SOA, false),
        Arguments.of(DOMAIN, Type.NS, false),
        Arguments.of(DOMAIN, Type.A, false),
        Arguments.of("www.example.com", Type.A, false),
        Arguments.of("web.demo.xfunnel.test", Type.A, false),
        Arguments.of("web.demo.other." + DOMAIN, Type.A, false));
  }

  @ParameterizedTest(name = "{0} {1}: {2}")
  @MethodSource("owned")
  void funnelOwnsOnlyItsShapes(String name, int type, boolean owned) {
    assertThat(ManagedRecords.owns(ZONE, name, type)).isEqualTo(owned);
  }

  @Test
  void withoutCaaIssuersTheApexCaaIsLeftAlone() {
    Zone noCaa = Zone.of(options().setCaaIssuers(List.of()));
    assertThat(ManagedRecords.owns(noCaa, DOMAIN, Type.CAA)).isFalse();
    assertThat(ManagedRecords.desired(noCaa, List.of(), Map.of())).isEmpty();
  }

  @Test
  void desiredHoldsEachRoutableNamesRegionalFrontendsTheChallengesAndTheApexCaa() {
    List<NameStatus> routable = List.of(
        new NameStatus("web.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-eu"),
        new NameStatus("US.demo." + DOMAIN + ".", NameStatus.Kind.ROUTABLE, "gw-us"),
        new NameStatus("api.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-nowhere"),
        new NameStatus("off.demo." + DOMAIN, NameStatus.Kind.NONE, null),
        new NameStatus("demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-eu"),
        new NameStatus("web.demo.example.com", NameStatus.Kind.ROUTABLE, "gw-eu"));
    Map<String, List<String>> challenges = Map.of("_acme-challenge.web.demo." + DOMAIN, List.of("t2", "t1"),
        "_acme-challenge.x.example.com", List.of("nope"));

    assertThat(ManagedRecords.desired(ZONE, routable, challenges).values()).containsExactly(
        new RRset("_acme-challenge.web.demo." + DOMAIN, Type.TXT, 60, List.of("\"t1\"", "\"t2\"")),
        new RRset("api.demo." + DOMAIN, Type.A, 60, List.of("192.0.2.1", "192.0.2.2", "198.51.100.1")),
        new RRset("api.demo." + DOMAIN, Type.AAAA, 60, List.of("2001:db8:0:0:0:0:0:1")),
        new RRset(DOMAIN, Type.CAA, 3600, List.of("0 issue \"letsencrypt.org\"")),
        new RRset("us.demo." + DOMAIN, Type.A, 60, List.of("198.51.100.1")),
        new RRset("web.demo." + DOMAIN, Type.A, 60, List.of("192.0.2.1", "192.0.2.2")),
        new RRset("web.demo." + DOMAIN, Type.AAAA, 60, List.of("2001:db8:0:0:0:0:0:1")));
  }

  @Test
  void desiredWithoutFrontendsHasNoAddresses() {
    Zone none = Zone.of(new DnsOptions().setDomain(DOMAIN).setCaaIssuers(List.of()));
    assertThat(ManagedRecords.desired(none,
        List.of(new NameStatus("web.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, "gw-eu")), Map.of())).isEmpty();
  }

  @Test
  void desiredCapsAddressesPerFamilyLikeTheServer() {
    List<String> many = new ArrayList<>();
    for (int i = 1; i <= Zone.MAX_ADDRESSES; i++) {
      many.add("192.0.2." + i);
    }
    Zone zone = Zone.of(new DnsOptions().setDomain(DOMAIN).setFrontends(Map.of("", many)));
    RRset a = ManagedRecords.desired(zone, List.of(new NameStatus("web.demo." + DOMAIN, NameStatus.Kind.ROUTABLE, null)),
        Map.of()).get(new RRset.Key("web.demo." + DOMAIN, Type.A));
    assertThat(a.data()).hasSize(Zone.MAX_ADDRESSES);
  }

  @Test
  void currentKeepsOnlyOwnedRecordsOfATransferGroupedIntoRRsets() throws Exception {
    String zoneFile = String.join("\n",
        "$ORIGIN " + DOMAIN + ".",
        "$TTL 3600",
        "@ SOA ns1 hostmaster 7 3600 600 1209600 60",
        "@ NS ns1",
        "@ CAA 0 issue \"pki.example\"",
        "@ A 192.0.2.200",
        "ns1 A 192.0.2.53",
        "www 300 A 192.0.2.80",
        "web.demo 60 A 192.0.2.2",
        "web.demo 30 A 192.0.2.1",
        "web.demo 60 MX 10 mail.example.com.",
        "stale.demo 60 AAAA 2001:db8::99",
        "_acme-challenge.web.demo 60 TXT \"tok\"",
        "deep.web.demo 60 A 192.0.2.9",
        "");
    List<Record> records = new ArrayList<>();
    try (Master master = new Master(new java.io.ByteArrayInputStream(zoneFile.getBytes()))) {
      for (Record r = master.nextRecord(); r != null; r = master.nextRecord()) {
        records.add(r);
      }
    }
    assertThat(ManagedRecords.current(ZONE, records).values()).containsExactly(
        new RRset("_acme-challenge.web.demo." + DOMAIN, Type.TXT, 60, List.of("\"tok\"")),
        new RRset(DOMAIN, Type.CAA, 3600, List.of("0 issue \"pki.example\"")),
        new RRset("stale.demo." + DOMAIN, Type.AAAA, 60, List.of("2001:db8:0:0:0:0:0:99")),
        new RRset("web.demo." + DOMAIN, Type.A, 30, List.of("192.0.2.1", "192.0.2.2")));
  }
}
