package dev.funnel.dns;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * The DNS server's counters. Every query is counted once, in one of two families:
 * <ul>
 *   <li>{@code funnel_dns_queries_total{transport,type,rcode}}: a reply went out, with that RCODE
 *       (a truncated or slipped reply too: NOERROR);</li>
 *   <li>{@code funnel_dns_dropped_total{transport,reason}}: no reply ({@code malformed},
 *       {@code rate_limited}).</li>
 * </ul>
 * and {@code funnel_dns_truncated_total{reason}} counts the replies of the first family that went
 * out empty with TC set ({@code too_large}: the answer did not fit the UDP size; {@code rate_limited}:
 * the rate limiter's slip).
 *
 * <p>Labels are bounded: {@code transport} {@code udp}/{@code tcp}; {@code type} one of
 * {@link #TYPES} or {@code other}; {@code rcode} one of {@link #RCODES} or {@code other}; never a
 * client address or a name. The common series (every type with NOERROR, NXDOMAIN, REFUSED and
 * SERVFAIL, every drop and truncation reason) are registered at start, so a scrape shows them at 0
 * before the first query; the rare RCODEs (NOTIMP, BADVERS, FORMERR) on first use.
 */
final class DnsMetrics {

  static final String UDP = "udp";
  static final String TCP = "tcp";
  /** Query types with their own {@code type} value; any other is {@code other}. HTTPS: browsers ask it beside A/AAAA. */
  static final List<Integer> TYPES = List.of(Type.A, Type.AAAA, Type.HTTPS, Type.TXT, Type.CAA, Type.SOA, Type.NS,
      Type.ANY);
  /** RCODEs with their own {@code rcode} value (BADVERS is the extended RCODE 16); any other is {@code other}. */
  static final List<Integer> RCODES = List.of(Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.REFUSED, Rcode.SERVFAIL,
      Rcode.NOTIMP, Answers.BADVERS, Rcode.FORMERR);
  /** The RCODEs registered at start (the first {@code PREREGISTERED} of {@link #RCODES}). */
  private static final int PREREGISTERED = 4;
  static final String OTHER = "other";

  /** Why a query got no reply: the {@code reason} of {@code funnel_dns_dropped_total}. */
  enum Dropped {
    MALFORMED, RATE_LIMITED;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Why a reply went out empty with TC: the {@code reason} of {@code funnel_dns_truncated_total}. */
  enum Truncated {
    TOO_LARGE, RATE_LIMITED;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private final MeterRegistry registry;
  /** [transport][type index, other last][rcode index, other last]; filled at start or on first use. */
  private final Counter[][][] queries = new Counter[2][TYPES.size() + 1][RCODES.size() + 1];
  private final Counter[][] dropped = new Counter[2][Dropped.values().length];
  private final Counter[] truncated = new Counter[Truncated.values().length];

  DnsMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (int t = 0; t < 2; t++) {
      for (int type = 0; type <= TYPES.size(); type++) {
        for (int rcode = 0; rcode < PREREGISTERED; rcode++) {
          query(t, type, rcode);
        }
      }
    }
    for (Dropped reason : Dropped.values()) {
      dropCounter(0, reason);
    }
    dropCounter(1, Dropped.MALFORMED);
    for (Truncated reason : Truncated.values()) {
      truncated[reason.ordinal()] = Counter.builder("funnel.dns.truncated")
          .description("DNS replies sent empty with TC set (the client asks again over TCP), by why")
          .tag("reason", reason.label())
          .register(registry);
    }
  }

  /** A reply to a query of {@code type} went out with {@code rcode} (extended RCODEs included). */
  void answered(String transport, int type, int rcode) {
    query(TCP.equals(transport) ? 1 : 0, index(TYPES, type), index(RCODES, rcode)).increment();
  }

  /** A query got no reply. */
  void dropped(String transport, Dropped reason) {
    dropCounter(TCP.equals(transport) ? 1 : 0, reason).increment();
  }

  /** A reply went out empty with TC set (also counted by {@link #answered}). */
  void truncated(Truncated reason) {
    truncated[reason.ordinal()].increment();
  }

  /** The {@code type} label of a query type. */
  static String typeLabel(int type) {
    int i = index(TYPES, type);
    return i == TYPES.size() ? OTHER : Type.string(type);
  }

  /** The {@code rcode} label of an RCODE (extended ones included). */
  static String rcodeLabel(int rcode) {
    int i = index(RCODES, rcode);
    if (i == RCODES.size()) {
      return OTHER;
    }
    return rcode == Answers.BADVERS ? "BADVERS" : Rcode.string(rcode);
  }

  private Counter query(int transport, int type, int rcode) {
    Counter c = queries[transport][type][rcode];
    if (c == null) {
      c = Counter.builder("funnel.dns.queries")
          .description("DNS queries answered, by transport, query type and the reply's RCODE")
          .tag("transport", transport(transport))
          .tag("type", type == TYPES.size() ? OTHER : Type.string(TYPES.get(type)))
          .tag("rcode", rcode == RCODES.size() ? OTHER : rcodeLabel(RCODES.get(rcode)))
          .register(registry);
      queries[transport][type][rcode] = c;
    }
    return c;
  }

  private Counter dropCounter(int transport, Dropped reason) {
    Counter c = dropped[transport][reason.ordinal()];
    if (c == null) {
      c = Counter.builder("funnel.dns.dropped")
          .description("DNS queries dropped without a reply, by why")
          .tag("transport", transport(transport))
          .tag("reason", reason.label())
          .register(registry);
      dropped[transport][reason.ordinal()] = c;
    }
    return c;
  }

  private static String transport(int index) {
    return index == 1 ? TCP : UDP;
  }

  /** The position of {@code value} in {@code values}, or {@code values.size()} ("other"). */
  private static int index(List<Integer> values, int value) {
    int i = values.indexOf(value);
    return i < 0 ? values.size() : i;
  }
}
