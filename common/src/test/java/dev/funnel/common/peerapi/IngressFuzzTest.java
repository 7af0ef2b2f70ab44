package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Fuzzes the node's reading of an ingress offer ({@link IngressOffer#parse(String, String, List,
 * List)}): the input is split at newlines into the method, the path, then values of
 * {@code funnel-ingress-src} and {@code funnel-ingress-target} (alternating after the first two, so
 * duplicates and missing headers come up). Seeds ({@code IngressFuzzTestInputs/offer/}): offers as
 * the gateway writes them (IPv4 and IPv6 sources), a wrong method, two sources, and the past
 * findings of the HTTP/1.1 offer (a non-ASCII name, a space inside brackets).
 *
 * <p>Properties: never throws; a refusal is one of the statuses the protocol defines; an accepted
 * offer survives {@link IngressOffer#toHeaders()} → {@link IngressOffer#parse} unchanged.
 */
class IngressFuzzTest {

  private static final Set<Integer> OFFER_REFUSALS = Set.of(400, 404, 405);

  @FuzzTest
  void offer(byte[] input) {
    List<String> parts = Arrays.asList(new String(input, StandardCharsets.UTF_8).split("\n", -1));
    String method = parts.get(0);
    String path = parts.size() > 1 ? parts.get(1) : null;
    List<String> src = new ArrayList<>();
    List<String> target = new ArrayList<>();
    for (int i = 2; i < parts.size(); i++) {
      (i % 2 == 0 ? src : target).add(parts.get(i));
    }
    IngressOffer.Parsed parsed = IngressOffer.parse(method, path, src, target);
    if (parsed instanceof IngressOffer.Offer offer) {
      assertThat(IngressOffer.parse(offer.offer().toHeaders())).isEqualTo(parsed);
    } else {
      IngressOffer.Reject reject = (IngressOffer.Reject) parsed;
      assertThat(reject.status()).isIn(OFFER_REFUSALS);
      assertThat(reject.reason()).isNotBlank();
    }
  }
}
