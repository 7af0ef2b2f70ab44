package dev.funnel.dns;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.funnel.common.bus.NameStatus;
import dev.funnel.dns.Answers.Encoded;
import dev.funnel.dns.Answers.Response;
import dev.funnel.dns.DnsQuery.Malformed;
import dev.funnel.dns.DnsQuery.Query;
import java.util.HashMap;
import java.util.Map;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;

/**
 * Fuzzes the query parser with the bytes anyone on the internet may send to port 53, and carries
 * every query it accepts on through {@link Answers#decide} and {@link Answers#encode}. Seeds
 * ({@code DnsQueryFuzzTestInputs/parse/}): queries for A, AAAA, SOA, TXT at the ACME name, with and
 * without EDNS, a compressed name, and a response. In a normal build the target runs on the seeds
 * only; with {@code JAZZER_FUZZ=1} Jazzer mutates them (see {@code .ci/fuzz}), and any finding is
 * written back into the inputs directory, where it stays as a regression test.
 *
 * <p>Beyond "never throws": a malformed result has a reason; an accepted query gets an answer that
 * fits the UDP limit it asked for, that dnsjava reads back as a response to the same id.
 */
class DnsQueryFuzzTest {

  @FuzzTest
  void parse(byte[] input) throws Exception {
    DnsQuery.Result result = DnsQuery.parse(input);
    assertThat(result).isNotNull();
    if (result instanceof Malformed malformed) {
      assertThat(malformed.reason()).isNotBlank();
      return;
    }
    Query query = (Query) result;
    // The registry's word on whatever it would be asked: routable, so the address path runs too.
    Map<String, NameStatus> names = new HashMap<>();
    for (String name : Answers.lookups(query, Fixtures.ZONE, Map.of())) {
      names.put(name, new NameStatus(name, NameStatus.Kind.ROUTABLE, "gw-eu"));
    }
    Response response = Answers.decide(query, Fixtures.snapshot(names));
    int limit = Answers.udpLimit(query, Fixtures.ZONE);
    Encoded encoded = Answers.encode(query, response, limit, Fixtures.ZONE);
    assertThat(encoded.wire().length).isLessThanOrEqualTo(limit);
    Message back = new Message(encoded.wire());
    assertThat(back.getHeader().getID()).isEqualTo(query.id());
    assertThat(back.getHeader().getFlag(Flags.QR)).isTrue();
    assertThat(DnsQuery.parse(encoded.wire())).as("an answer is never taken for a query").isInstanceOf(Malformed.class);
  }
}
