package dev.funnel.dns;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.DnsLookup;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The two ends of {@link Addresses#DNS_LOOKUP} ({@code funnel status}), as pure functions: the A query
 * asked for a name, and the reply read from the response's bytes (its RCODE and the addresses
 * answered). The query itself goes through {@link QueryAnswerer} like one from the network.
 */
final class StatusLookup {

  private StatusLookup() {
  }

  /** An A/IN query for {@code name} on the wire; TextParseException when it is not a name. */
  static byte[] query(String name) throws TextParseException {
    return Message.newQuery(Record.newRecord(Name.fromString(name + "."), Type.A, DClass.IN)).toWire();
  }

  /** What to reply: {@code FORMERR} for a name that cannot be asked (null included). */
  static DnsLookup unaskable(String listen) {
    return new DnsLookup(listen, "FORMERR", List.of());
  }

  /** The reply for the response {@code wire} (null: none came, or it failed): SERVFAIL when none or unreadable. */
  static DnsLookup reply(String listen, byte[] wire) {
    if (wire == null) {
      return servfail(listen);
    }
    try {
      Message response = new Message(wire);
      List<String> addresses = new ArrayList<>();
      for (Record r : response.getSection(Section.ANSWER)) {
        if (r instanceof ARecord a) {
          addresses.add(a.getAddress().getHostAddress());
        } else if (r instanceof AAAARecord aaaa) {
          addresses.add(aaaa.getAddress().getHostAddress());
        }
      }
      return new DnsLookup(listen, Rcode.string(response.getRcode()), addresses);
    } catch (IOException e) {
      return servfail(listen);
    }
  }

  private static DnsLookup servfail(String listen) {
    return new DnsLookup(listen, "SERVFAIL", List.of());
  }
}
