package dev.funnel.dns;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.dns.DnsQuery.Malformed;
import dev.funnel.dns.DnsQuery.Query;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

class DnsQueryTest {

  @Test
  void aQueryWithEdns() {
    Query q = (Query) DnsQuery.parse(Fixtures.queryWire("Web.Demo.funnel.test", Type.AAAA, DClass.IN, 4096));
    assertThat(q.id()).isEqualTo(4242);
    assertThat(q.name()).isEqualTo(Name.fromConstantString("web.demo.funnel.test."));
    assertThat(q.name().toString()).as("case kept, for 0x20").isEqualTo("Web.Demo.funnel.test.");
    assertThat(q.type()).isEqualTo(Type.AAAA);
    assertThat(q.ednsPayload()).isEqualTo(4096);
    assertThat(q.recursionDesired()).isFalse();
  }

  @Test
  void withoutEdnsThePayloadIsUnset() {
    Query q = (Query) DnsQuery.parse(Fixtures.queryWire("funnel.test", Type.SOA, DClass.IN, -1));
    assertThat(q.hasEdns()).isFalse();
  }

  @Test
  void malformedInputsSayWhy() {
    byte[] good = Fixtures.queryWire("web.demo.funnel.test", Type.A, DClass.IN, 1232);
    assertThat(DnsQuery.parse(new byte[0])).isInstanceOf(Malformed.class);
    assertThat(DnsQuery.parse(null)).isInstanceOf(Malformed.class);
    assertThat(DnsQuery.parse(Arrays.copyOf(good, 11))).isEqualTo(new Malformed("shorter than a DNS header"));
    for (int cut = 12; cut < good.length; cut++) {
      assertThat(DnsQuery.parse(Arrays.copyOf(good, cut))).as("cut at " + cut).isInstanceOf(Malformed.class);
    }
    byte[] response = good.clone();
    response[2] |= (byte) 0x80;
    assertThat(DnsQuery.parse(response)).isEqualTo(new Malformed("a response, not a query"));
    assertThat(DnsQuery.parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes())).isInstanceOf(Malformed.class);
  }

  @Test
  void twoQuestionsTwoOptsOrAnOptAsTheQuestionAreMalformed() {
    Message two = Message.newQuery(Record.newRecord(Name.fromConstantString("a.funnel.test."), Type.A, DClass.IN));
    two.addRecord(Record.newRecord(Name.fromConstantString("b.funnel.test."), Type.A, DClass.IN), Section.QUESTION);
    assertThat(DnsQuery.parse(two.toWire())).isEqualTo(new Malformed("expected one question, got 2"));

    Message opts = Message.newQuery(Record.newRecord(Name.fromConstantString("a.funnel.test."), Type.A, DClass.IN));
    opts.addRecord(new OPTRecord(1232, 0, 0), Section.ADDITIONAL);
    opts.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
    assertThat(DnsQuery.parse(opts.toWire())).isEqualTo(new Malformed("more than one OPT record"));

    Message meta = Message.newQuery(Record.newRecord(Name.root, Type.OPT, DClass.IN));
    meta.getHeader().unsetFlag(Flags.RD);
    assertThat(DnsQuery.parse(meta.toWire())).isInstanceOf(Malformed.class);
  }
}
