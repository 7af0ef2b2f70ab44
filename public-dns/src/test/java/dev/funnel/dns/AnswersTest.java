package dev.funnel.dns;

import static dev.funnel.dns.Fixtures.DOMAIN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.dns.Answers.Encoded;
import dev.funnel.dns.Answers.Response;
import dev.funnel.dns.DnsQuery.Query;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** {@link Answers#decide} as a table: name and type in, RCODE, outcome and answer data out. */
class AnswersTest {

  static Stream<Arguments> table() {
    return Stream.of(
        // the apex
        row(DOMAIN, Type.SOA, Rcode.NOERROR, Outcome.ANSWERED, "ns1.funnel.test. hostmaster.funnel.test. 2026120201 3600 600 1209600 60"),
        row(DOMAIN, Type.NS, Rcode.NOERROR, Outcome.ANSWERED, "ns1.funnel.test.", "ns2.example.net."),
        row(DOMAIN, Type.CAA, Rcode.NOERROR, Outcome.ANSWERED, "0 issue \"letsencrypt.org\""),
        row(DOMAIN, Type.ANY, Rcode.NOERROR, Outcome.ANSWERED, "ns1.funnel.test. hostmaster.funnel.test. 2026120201 3600 600 1209600 60"),
        row(DOMAIN, Type.A, Rcode.NOERROR, Outcome.NODATA),
        row(DOMAIN, Type.MX, Rcode.NOERROR, Outcome.NODATA),
        row("FUNNEL.Test", Type.SOA, Rcode.NOERROR, Outcome.ANSWERED, "ns1.funnel.test. hostmaster.funnel.test. 2026120201 3600 600 1209600 60"),
        // an in-zone name server
        row("ns1." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.ANSWERED, "192.0.2.53"),
        row("ns1." + DOMAIN, Type.AAAA, Rcode.NOERROR, Outcome.NODATA),
        // a routable node: its gateway's region
        row("web.demo." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.ANSWERED, "192.0.2.1", "192.0.2.2"),
        row("web.demo." + DOMAIN, Type.AAAA, Rcode.NOERROR, Outcome.ANSWERED, "2001:db8:0:0:0:0:0:1"),
        row("WEB.demo." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.ANSWERED, "192.0.2.1", "192.0.2.2"),
        row("web.demo." + DOMAIN, Type.ANY, Rcode.NOERROR, Outcome.ANSWERED, "192.0.2.1", "192.0.2.2"),
        row("web.demo." + DOMAIN, Type.TXT, Rcode.NOERROR, Outcome.NODATA),
        row("web.demo." + DOMAIN, Type.MX, Rcode.NOERROR, Outcome.NODATA),
        row("us.demo." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.ANSWERED, "198.51.100.1"),
        row("us.demo." + DOMAIN, Type.AAAA, Rcode.NOERROR, Outcome.NODATA),
        // a gateway with no region: every frontend
        row("api.demo." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.ANSWERED, "192.0.2.1", "192.0.2.2", "198.51.100.1"),
        // not routable, unknown, deeper
        row("off.demo." + DOMAIN, Type.A, Rcode.NXDOMAIN, Outcome.NXDOMAIN),
        row("nope." + DOMAIN, Type.A, Rcode.NXDOMAIN, Outcome.NXDOMAIN),
        row("a.b.web.demo." + DOMAIN, Type.A, Rcode.NXDOMAIN, Outcome.NXDOMAIN),
        row("x.web.demo." + DOMAIN, Type.A, Rcode.NXDOMAIN, Outcome.NXDOMAIN),
        // a tailnet with Funnel on exists, with nothing of its own
        row("demo." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.NODATA),
        // ACME challenge TXT
        row("_acme-challenge.web.demo." + DOMAIN, Type.TXT, Rcode.NOERROR, Outcome.ANSWERED, "\"token-1\"", "\"token-2\""),
        row("_acme-challenge.web.demo." + DOMAIN, Type.A, Rcode.NOERROR, Outcome.NODATA),
        row("_acme-challenge.us.demo." + DOMAIN, Type.TXT, Rcode.NXDOMAIN, Outcome.NXDOMAIN),
        // outside the zone: no recursion
        row("example.com", Type.A, Rcode.REFUSED, Outcome.REFUSED),
        row("test", Type.SOA, Rcode.REFUSED, Outcome.REFUSED),
        row("xfunnel.test", Type.A, Rcode.REFUSED, Outcome.REFUSED),
        row(DOMAIN, Type.AXFR, Rcode.REFUSED, Outcome.REFUSED),
        row(DOMAIN, Type.IXFR, Rcode.REFUSED, Outcome.REFUSED));
  }

  private static Arguments row(String name, int type, int rcode, Outcome outcome, String... data) {
    return Arguments.of(name, Type.string(type), type, rcode, outcome, List.of(data));
  }

  @ParameterizedTest(name = "{0} {1} → {4} {5}")
  @MethodSource("table")
  void decide(String name, String typeName, int type, int rcode, Outcome outcome, List<String> data) {
    Query query = Fixtures.query(name, type);
    assertThat(Answers.lookups(query, Fixtures.ZONE, Fixtures.snapshot(Map.of()).challenges()))
        .as("every name looked up is in the table's snapshot").allMatch(Fixtures.NAMES::containsKey);
    Response response = Answers.decide(query, Fixtures.snapshot(Fixtures.NAMES));
    assertThat(response.rcode()).as("rcode").isEqualTo(rcode);
    assertThat(response.outcome()).isEqualTo(outcome);
    assertThat(response.answer().stream().map(Record::rdataToString).toList()).containsExactlyInAnyOrderElementsOf(data);
    response.answer().forEach(r -> assertThat(r.getName()).as("owner, as asked").isEqualTo(query.name()));
    if (outcome == Outcome.NODATA || outcome == Outcome.NXDOMAIN) {
      assertThat(response.authority()).singleElement().isInstanceOf(SOARecord.class)
          .extracting(Record::getTTL).isEqualTo(60L);
    }
    assertThat(response.authoritative()).isEqualTo(outcome != Outcome.REFUSED);
  }

  @Test
  void addressesCarryTheAddressTtlAndTheApexTheZoneTtl() {
    Response a = Answers.decide(Fixtures.query("web.demo." + DOMAIN, Type.A), Fixtures.snapshot(Fixtures.NAMES));
    assertThat(a.answer()).allMatch(r -> r.getTTL() == 60);
    Response ns = Answers.decide(Fixtures.query(DOMAIN, Type.NS), Fixtures.snapshot(Fixtures.NAMES));
    assertThat(ns.answer()).allMatch(r -> r.getTTL() == 3600);
    assertThat(ns.additional()).as("glue for the in-zone name server").singleElement()
        .extracting(Record::rdataToString).isEqualTo("192.0.2.53");
  }

  @Test
  void aNameTheRegistryDidNotAnswerForIsServfail() {
    Response r = Answers.decide(Fixtures.query("web.demo." + DOMAIN, Type.A), Fixtures.snapshot(Map.of()));
    assertThat(r.rcode()).isEqualTo(Rcode.SERVFAIL);
    assertThat(r.outcome()).isEqualTo(Outcome.SERVFAIL);
  }

  @Test
  void lookupsAskOnlyForTailnetAndNodeNames() {
    var challenges = Fixtures.snapshot(Map.of()).challenges();
    assertThat(Answers.lookups(Fixtures.query("web.demo." + DOMAIN, Type.A), Fixtures.ZONE, challenges))
        .containsExactly("web.demo." + DOMAIN);
    assertThat(Answers.lookups(Fixtures.query("Demo." + DOMAIN, Type.A), Fixtures.ZONE, challenges))
        .containsExactly("demo." + DOMAIN);
    for (String none : List.of(DOMAIN, "ns1." + DOMAIN, "a.web.demo." + DOMAIN, "example.com",
        "_acme-challenge.web.demo." + DOMAIN)) {
      assertThat(Answers.lookups(Fixtures.query(none, Type.A), Fixtures.ZONE, challenges)).as(none).isEmpty();
    }
  }

  @Test
  void anotherClassOpcodeOrEdnsVersionIsRefused() throws Exception {
    Query chaos = (Query) DnsQuery.parse(Fixtures.queryWire(DOMAIN, Type.TXT, DClass.CH, -1));
    assertThat(Answers.decide(chaos, Fixtures.snapshot(Map.of())).rcode()).isEqualTo(Rcode.REFUSED);

    Message notify = Message.newQuery(Record.newRecord(org.xbill.DNS.Name.fromConstantString(DOMAIN + "."), Type.SOA, DClass.IN));
    notify.getHeader().setOpcode(org.xbill.DNS.Opcode.NOTIFY);
    Query n = (Query) DnsQuery.parse(notify.toWire());
    assertThat(Answers.decide(n, Fixtures.snapshot(Map.of())).rcode()).isEqualTo(Rcode.NOTIMP);

    Message v1 = Message.newQuery(Record.newRecord(org.xbill.DNS.Name.fromConstantString(DOMAIN + "."), Type.SOA, DClass.IN));
    v1.addRecord(new org.xbill.DNS.OPTRecord(1232, 0, 1), Section.ADDITIONAL);
    Query q = (Query) DnsQuery.parse(v1.toWire());
    Response badvers = Answers.decide(q, Fixtures.snapshot(Map.of()));
    Message wire = new Message(Answers.encode(q, badvers, 1232, Fixtures.ZONE).wire());
    assertThat(wire.getRcode()).as("BADVERS, in the OPT's extended RCODE").isEqualTo(16);
  }

  @Test
  void encodingEchoesTheQueryAndOptAndTruncatesWhatDoesNotFit() throws Exception {
    Query query = Fixtures.query("api.demo." + DOMAIN, Type.A);
    Response response = Answers.decide(query, Fixtures.snapshot(Fixtures.NAMES));
    Encoded whole = Answers.encode(query, response, 1232, Fixtures.ZONE);
    assertThat(whole.truncated()).isFalse();
    Message m = new Message(whole.wire());
    assertThat(m.getHeader().getID()).isEqualTo(4242);
    assertThat(m.getHeader().getFlag(Flags.QR)).isTrue();
    assertThat(m.getHeader().getFlag(Flags.AA)).isTrue();
    assertThat(m.getHeader().getFlag(Flags.RA)).as("no recursion").isFalse();
    assertThat(m.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(m.getQuestion()).isEqualTo(query.question());
    assertThat(m.getSection(Section.ANSWER)).hasSize(3);
    assertThat(m.getOPT()).isNotNull().extracting(o -> o.getPayloadSize()).isEqualTo(1232);

    Encoded cut = Answers.encode(query, response, whole.wire().length - 1, Fixtures.ZONE);
    assertThat(cut.truncated()).isTrue();
    Message t = new Message(cut.wire());
    assertThat(t.getHeader().getFlag(Flags.TC)).isTrue();
    assertThat(t.getSection(Section.ANSWER)).isEmpty();
    assertThat(t.getQuestion()).isEqualTo(query.question());
  }

  @Test
  void theUdpLimitIsWhatTheClientAdvertisedUpToTheCapAnd512WithoutEdns() {
    Query big = (Query) DnsQuery.parse(Fixtures.queryWire(DOMAIN, Type.A, DClass.IN, 4096));
    Query small = (Query) DnsQuery.parse(Fixtures.queryWire(DOMAIN, Type.A, DClass.IN, 800));
    Query tiny = (Query) DnsQuery.parse(Fixtures.queryWire(DOMAIN, Type.A, DClass.IN, 100));
    Query none = (Query) DnsQuery.parse(Fixtures.queryWire(DOMAIN, Type.A, DClass.IN, -1));
    assertThat(Answers.udpLimit(big, Fixtures.ZONE)).isEqualTo(1232);
    assertThat(Answers.udpLimit(small, Fixtures.ZONE)).isEqualTo(800);
    assertThat(Answers.udpLimit(tiny, Fixtures.ZONE)).as("under 512 reads as 512").isEqualTo(512);
    assertThat(Answers.udpLimit(none, Fixtures.ZONE)).isEqualTo(512);
  }
}
