package dev.funnel.dns;

import java.io.IOException;
import java.util.List;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * One DNS query, parsed from the bytes a client sent (RFC 1035 section 4.1; EDNS0, RFC 6891). Pure:
 * no I/O, no logging, never throws; dnsjava reads the wire format and this class checks what an
 * authoritative server needs of it.
 *
 * <pre>
 *   Header: ID, QR|Opcode|AA|TC|RD|RA|Z|AD|CD|RCODE, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
 *   Question: QNAME QTYPE QCLASS           (exactly one: RFC 9619)
 *   Additional: at most one OPT, owner ".", CLASS = UDP payload size, TTL = ext-rcode|version|DO|Z
 * </pre>
 */
public final class DnsQuery {

  /** Largest DNS message (a TCP length prefix is 16 bits). */
  public static final int MAX_MESSAGE = 65_535;
  /** The smallest UDP payload a client may advertise; less is read as 512 (RFC 6891 section 6.2.5). */
  public static final int MIN_UDP_PAYLOAD = 512;

  private DnsQuery() {
  }

  /** What {@link #parse} found. */
  public sealed interface Result {
  }

  /**
   * A query to answer. {@code opcode} other than QUERY, a class other than IN, and EDNS versions
   * above 0 are still queries: the answer says no (NOTIMP, REFUSED, BADVERS). {@code ednsPayload}
   * is the UDP size the client advertised, -1 without EDNS; {@code dnssecOk} its DO bit.
   */
  public record Query(int id, int opcode, boolean recursionDesired, boolean checkingDisabled, Name name, int type,
                      int dnsClass, int ednsPayload, int ednsVersion, boolean dnssecOk) implements Result {

    public boolean hasEdns() {
      return ednsPayload >= 0;
    }

    /** The question as dnsjava's record, for building the response. */
    public Record question() {
      return Record.newRecord(name, type, dnsClass);
    }

    @Override
    public String toString() {
      return name + " " + Type.string(type) + " " + DClass.string(dnsClass) + " id " + id;
    }
  }

  /** Not a query this server answers; dropped (and counted) without a reply. */
  public record Malformed(String reason) implements Result {
  }

  /** Parses {@code wire} (a whole UDP payload or a TCP message without its length prefix). */
  public static Result parse(byte[] wire) {
    if (wire == null || wire.length < 12) {
      return new Malformed("shorter than a DNS header");
    }
    if (wire.length > MAX_MESSAGE) {
      return new Malformed("longer than a DNS message");
    }
    if ((wire[2] & 0x80) != 0) {
      // Never answer a response: two servers answering each other's answers would loop.
      return new Malformed("a response, not a query");
    }
    Message message;
    try {
      message = new Message(wire);
    } catch (IOException | RuntimeException e) {
      return new Malformed("wire format: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    }
    int questions = message.getHeader().getCount(Section.QUESTION);
    if (questions != 1) {
      return new Malformed("expected one question, got " + questions);
    }
    if (message.getSection(Section.QUESTION).size() != 1) {
      // dnsjava keeps the header's counts for a message with TC set that ends early.
      return new Malformed("the question is cut off");
    }
    if (message.getHeader().getCount(Section.ANSWER) != 0) {
      return new Malformed("a query with answers");
    }
    Record question = message.getQuestion();
    int type = question.getType();
    if (!Type.isRR(type) && !isQueryOnlyType(type)) {
      // Meta types (OPT, TSIG's own…) are not questions.
      return new Malformed("question type " + type + " is a meta type");
    }
    List<Record> additional = message.getSection(Section.ADDITIONAL);
    OPTRecord opt = null;
    for (Record r : additional) {
      if (r instanceof OPTRecord o) {
        if (opt != null) {
          return new Malformed("more than one OPT record");
        }
        if (!o.getName().equals(Name.root)) {
          return new Malformed("OPT record not owned by the root");
        }
        opt = o;
      }
    }
    int payload = -1;
    int version = 0;
    boolean dnssecOk = false;
    if (opt != null) {
      payload = Math.max(MIN_UDP_PAYLOAD, opt.getPayloadSize());
      version = opt.getVersion();
      dnssecOk = (opt.getFlags() & org.xbill.DNS.ExtendedFlags.DO) != 0;
    }
    var header = message.getHeader();
    return new Query(header.getID(), header.getOpcode(), header.getFlag(Flags.RD), header.getFlag(Flags.CD),
        question.getName(), type, question.getDClass(), payload, version, dnssecOk);
  }

  /** QTYPEs that are valid in a question though no record has them: AXFR, IXFR, ANY, MAILA/B. */
  private static boolean isQueryOnlyType(int type) {
    return type == Type.AXFR || type == Type.IXFR || type == Type.ANY || type == Type.MAILA || type == Type.MAILB;
  }

  /** Whether {@code opcode} is a standard query. */
  static boolean isQuery(int opcode) {
    return opcode == Opcode.QUERY;
  }
}
