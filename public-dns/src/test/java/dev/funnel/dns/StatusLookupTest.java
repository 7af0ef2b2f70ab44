package dev.funnel.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.bus.DnsLookup;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** {@code funnel status}'s DNS lookup: the query asked, and the reply read from real response bytes. */
class StatusLookupTest {

  static final String LISTEN = "127.0.0.1:5353";

  @Test
  void theQueryIsOneAQuestionForTheName() throws Exception {
    Message query = new Message(StatusLookup.query("web.demo.funnel.test"));
    assertThat(query.getQuestion().getName()).isEqualTo(Name.fromString("web.demo.funnel.test."));
    assertThat(query.getQuestion().getType()).isEqualTo(Type.A);
    assertThat(query.getQuestion().getDClass()).isEqualTo(DClass.IN);
    assertThatThrownBy(() -> StatusLookup.query("a..b")).isInstanceOf(Exception.class);
  }

  @Test
  void theReplyCarriesTheRcodeAndOnlyTheAddresses() throws Exception {
    Name name = Name.fromString("web.demo.funnel.test.");
    Message response = Message.newQuery(org.xbill.DNS.Record.newRecord(name, Type.A, DClass.IN));
    response.getHeader().setFlag(Flags.QR);
    response.addRecord(new ARecord(name, DClass.IN, 60, InetAddress.getByName("192.0.2.1")), Section.ANSWER);
    response.addRecord(new AAAARecord(name, DClass.IN, 60, InetAddress.getByName("2001:db8::1")), Section.ANSWER);
    response.addRecord(new TXTRecord(name, DClass.IN, 60, "not an address"), Section.ANSWER);
    assertThat(StatusLookup.reply(LISTEN, response.toWire()))
        .isEqualTo(new DnsLookup(LISTEN, "NOERROR", List.of("192.0.2.1", "2001:db8:0:0:0:0:0:1")));

    response.getHeader().setRcode(Rcode.NXDOMAIN);
    response.removeAllRecords(Section.ANSWER);
    assertThat(StatusLookup.reply(LISTEN, response.toWire())).isEqualTo(new DnsLookup(LISTEN, "NXDOMAIN", List.of()));
  }

  @Test
  void noResponseOrAnUnreadableOneIsServfailAndAnUnaskableNameFormerr() {
    assertThat(StatusLookup.reply(LISTEN, null)).isEqualTo(new DnsLookup(LISTEN, "SERVFAIL", List.of()));
    assertThat(StatusLookup.reply(LISTEN, new byte[] {1, 2, 3})).isEqualTo(new DnsLookup(LISTEN, "SERVFAIL", List.of()));
    assertThat(StatusLookup.unaskable(LISTEN)).isEqualTo(new DnsLookup(LISTEN, "FORMERR", List.of()));
  }
}
