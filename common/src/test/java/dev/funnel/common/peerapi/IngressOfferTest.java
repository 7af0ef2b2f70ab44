package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class IngressOfferTest {

  private static final String SRC = "203.0.113.7:53211";
  private static final String TARGET = "web.demo.funnel.example:443";

  @Test
  void anOfferSurvivesItsHeaders() {
    IngressOffer offer = new IngressOffer(HostPort.parse("[2001:db8::1]:443"), HostPort.parse(TARGET));
    assertThat(offer.toHeaders().method().toString()).isEqualTo("POST");
    assertThat(offer.toHeaders().path().toString()).isEqualTo(IngressOffer.PATH);
    assertThat(IngressOffer.parse(offer.toHeaders())).isEqualTo(new IngressOffer.Offer(offer));
  }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of("GET", IngressOffer.PATH, List.of(SRC), List.of(TARGET), 405),
        Arguments.of(null, IngressOffer.PATH, List.of(SRC), List.of(TARGET), 405),
        Arguments.of("POST", "/v0/other", List.of(SRC), List.of(TARGET), 404),
        Arguments.of("POST", IngressOffer.PATH, List.of(), List.of(TARGET), 400),
        Arguments.of("POST", IngressOffer.PATH, List.of(SRC), List.of(), 400),
        Arguments.of("POST", IngressOffer.PATH, List.of(SRC, SRC), List.of(TARGET), 400),
        Arguments.of("POST", IngressOffer.PATH, List.of(SRC), List.of(TARGET, TARGET), 400),
        Arguments.of("POST", IngressOffer.PATH, List.of("not an address"), List.of(TARGET), 400),
        Arguments.of("POST", IngressOffer.PATH, List.of(SRC), List.of("web.\u00e9.example:443"), 400),
        Arguments.of("POST", IngressOffer.PATH, List.of(SRC), List.of("web.example"), 400));
  }

  @ParameterizedTest
  @MethodSource("refusals")
  void malformedOffersAreRefusedWithTheirStatus(String method, String path, List<String> src, List<String> target,
                                                int status) {
    IngressOffer.Parsed parsed = IngressOffer.parse(method, path, src, target);
    assertThat(parsed).isInstanceOf(IngressOffer.Reject.class);
    assertThat(((IngressOffer.Reject) parsed).status()).isEqualTo(status);
  }

  @Test
  void aRefusalCarriesAShortPrintableReason() {
    var headers = IngressAnswer.refuse(403, "port 8443 is not funnelled\u0000 by this node" + "x".repeat(400));
    assertThat(IngressAnswer.status(headers)).isEqualTo(403);
    assertThat(IngressAnswer.reason(headers)).startsWith("port 8443 is not funnelled? by this node").hasSizeLessThanOrEqualTo(200);
    assertThat(IngressAnswer.status(IngressAnswer.accept())).isEqualTo(200);
  }
}
