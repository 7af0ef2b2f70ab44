package dev.funnel.dns;

import java.util.Locale;

/** How a query ended: the bounded {@code outcome} label of {@code funnel_dns_queries_total}. */
public enum Outcome {
  /** NOERROR with records in the answer section. */
  ANSWERED,
  /** The name does not exist. */
  NXDOMAIN,
  /** The name exists without that type: NOERROR, empty answer, SOA in authority. */
  NODATA,
  /** Outside the zone (no recursion), a zone transfer, another class, opcode or EDNS version. */
  REFUSED,
  /** Not a DNS query: dropped without a reply. */
  MALFORMED,
  /** Over the source's rate: dropped, or (every Nth) an empty truncated reply. */
  RATE_LIMITED,
  /** The answer did not fit the UDP size: an empty reply with TC set (the client asks again over TCP). */
  TRUNCATED,
  /** The registry did not answer in time. */
  SERVFAIL;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
