package dev.funnel.dns;

/**
 * How {@link Answers#decide} classified a query (the RCODE alone does not tell an answer from NODATA).
 * For tests and debugging; the metrics count the RCODE sent ({@link DnsMetrics}).
 */
public enum Outcome {
  /** NOERROR with records in the answer section. */
  ANSWERED,
  /** The name does not exist. */
  NXDOMAIN,
  /** The name exists without that type: NOERROR, empty answer, SOA in authority. */
  NODATA,
  /** Outside the zone (no recursion), a zone transfer, another class, opcode or EDNS version. */
  REFUSED,
  /** Over the source's rate: the rate limiter's empty truncated reply. */
  RATE_LIMITED,
  /** The registry did not answer in time. */
  SERVFAIL
}
