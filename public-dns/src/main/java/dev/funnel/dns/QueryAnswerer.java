package dev.funnel.dns;

import dev.funnel.dns.Answers.Encoded;
import dev.funnel.dns.Answers.Response;
import dev.funnel.dns.DnsQuery.Malformed;
import dev.funnel.dns.DnsQuery.Query;
import io.vertx.core.Future;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.Rcode;

/**
 * One query's bytes to its response's bytes, the same for UDP, TCP and {@code funnel status}: parse
 * ({@link DnsQuery}), rate limit UDP sources ({@link RateLimiter}), look the names up
 * ({@link NameLookups}), decide on a snapshot ({@link Answers}), encode within the transport's size,
 * and count it ({@link DnsMetrics}). Used on the verticle's event loop only.
 */
final class QueryAnswerer {

  private static final Logger LOG = System.getLogger(DnsVerticle.class.getName());

  private final Zone zone;
  private final RateLimiter limiter;
  private final NameLookups lookups;
  private final ZoneState state;
  private final DnsMetrics metrics;

  QueryAnswerer(Zone zone, RateLimiter limiter, NameLookups lookups, ZoneState state, DnsMetrics metrics) {
    this.zone = zone;
    this.limiter = limiter;
    this.lookups = lookups;
    this.state = state;
    this.metrics = metrics;
  }

  /**
   * The response's bytes, or null to send nothing (malformed or rate limited). Counts the query under
   * {@code transport} ({@link DnsMetrics#UDP}, {@link DnsMetrics#TCP}); {@code source} null skips the
   * rate limit.
   */
  Future<byte[]> answer(byte[] wire, String transport, InetAddress source) {
    DnsQuery.Result parsed = DnsQuery.parse(wire);
    if (parsed instanceof Malformed malformed) {
      metrics.dropped(transport, DnsMetrics.Dropped.MALFORMED);
      LOG.log(Level.DEBUG, "dns {0} query from {1}: {2}; dropping", transport, source, malformed.reason());
      return Future.succeededFuture(null);
    }
    Query query = (Query) parsed;
    boolean udpQuery = DnsMetrics.UDP.equals(transport);
    if (udpQuery && source != null) {
      switch (limiter.check(source, System.nanoTime())) {
        case DROP -> {
          metrics.dropped(transport, DnsMetrics.Dropped.RATE_LIMITED);
          return Future.succeededFuture(null);
        }
        case SLIP -> {
          metrics.answered(transport, query.type(), Rcode.NOERROR);
          metrics.truncated(DnsMetrics.Truncated.RATE_LIMITED);
          return Future.succeededFuture(Answers.slip(query, zone));
        }
        default -> {
        }
      }
    }
    Map<String, List<String>> challengesNow = state.challenges();
    return lookups.lookup(Answers.lookups(query, zone, challengesNow)).map(names -> {
      ZoneSnapshot snapshot = new ZoneSnapshot(zone, state.serial(), names, challengesNow);
      Response response = Answers.decide(query, snapshot);
      int limit = udpQuery ? Answers.udpLimit(query, zone) : DnsQuery.MAX_MESSAGE;
      Encoded encoded = Answers.encode(query, response, limit, zone);
      metrics.answered(transport, query.type(), response.rcode());
      if (encoded.truncated()) {
        metrics.truncated(DnsMetrics.Truncated.TOO_LARGE);
      }
      return encoded.wire();
    });
  }
}
