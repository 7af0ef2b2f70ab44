package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vertx.core.buffer.Buffer;
import java.util.Arrays;
import java.util.Set;

/**
 * Fuzzes both ends of the ingress offer: {@link IngressOffer#parse} (the node reads what a gateway
 * wrote on a data connection) and {@link IngressAnswer#parse} (the gateway reads the node's status
 * line). Seeds ({@code IngressFuzzTestInputs/}): the exact bytes the encoders write (IPv4 and IPv6
 * sources, a 101 followed by the client's first TLS bytes, a 403), and a wrong method.
 *
 * <p>Properties: never throws; a decision is final (the same bytes cut at any point decide the same
 * once decisive, as they do when they arrive in two reads); an accepted offer stays inside the head
 * cap and round-trips through its encoder; a refusal is one of the statuses the protocol defines.
 */
class IngressFuzzTest {

  private static final Set<Integer> OFFER_REFUSALS = Set.of(400, 404, 405);

  @FuzzTest
  void offer(byte[] input) {
    Buffer whole = Buffer.buffer(input);
    IngressOffer.Parsed all = IngressOffer.parse(whole);
    if (all instanceof IngressOffer.Offer offer) {
      assertThat(offer.consumed()).isBetween(4, Math.min(input.length, IngressOffer.MAX_HEAD_BYTES));
      Buffer again = offer.offer().encode();
      IngressOffer.Parsed reparsed = IngressOffer.parse(again);
      assertThat(reparsed).isEqualTo(new IngressOffer.Offer(offer.offer(), again.length()));
    } else if (all instanceof IngressOffer.Reject reject) {
      assertThat(reject.status()).isIn(OFFER_REFUSALS);
      assertThat(reject.reason()).isNotBlank();
    } else {
      assertThat(all).isInstanceOf(IngressOffer.NeedMore.class);
      assertThat(input.length).isLessThan(IngressOffer.MAX_HEAD_BYTES);
    }
    IngressOffer.Parsed early = IngressOffer.parse(whole.getBuffer(0, cut(input)));
    if (!(early instanceof IngressOffer.NeedMore)) {
      assertThat(all).as("decided on a prefix, so decided the same on the whole").isEqualTo(early);
    }
  }

  @FuzzTest
  void answer(byte[] input) {
    Buffer whole = Buffer.buffer(input);
    IngressAnswer.Parsed all = IngressAnswer.parse(whole);
    if (all instanceof IngressAnswer.Status status) {
      assertThat(status.status()).isBetween(100, 599);
      assertThat(status.consumed()).isBetween(4, Math.min(input.length, IngressOffer.MAX_HEAD_BYTES));
    } else if (all instanceof IngressAnswer.Malformed malformed) {
      assertThat(malformed.reason()).isNotBlank();
    } else {
      assertThat(input.length).isLessThan(IngressOffer.MAX_HEAD_BYTES);
    }
    IngressAnswer.Parsed early = IngressAnswer.parse(whole.getBuffer(0, cut(input)));
    if (!(early instanceof IngressAnswer.NeedMore)) {
      assertThat(all).as("decided on a prefix, so decided the same on the whole").isEqualTo(early);
    }
  }

  /** A cut point that depends only on the input, so a finding replays exactly. */
  static int cut(byte[] input) {
    return input.length == 0 ? 0 : Math.floorMod(Arrays.hashCode(input), input.length + 1);
  }
}
