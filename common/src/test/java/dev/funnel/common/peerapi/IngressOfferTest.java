package dev.funnel.common.peerapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import io.vertx.core.buffer.Buffer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class IngressOfferTest {

  private static final IngressOffer OFFER = new IngressOffer(new HostPort("203.0.113.7", 53211),
      new HostPort("web.demo.funnel.example", 443));

  private static final String HEAD = "POST /v0/ingress HTTP/1.1\r\n"
      + "Host: peer\r\n"
      + "Funnel-Ingress-Src: 203.0.113.7:53211\r\n"
      + "Funnel-Ingress-Target: web.demo.funnel.example:443\r\n"
      + "\r\n";

  @Test
  void encodesTheDocumentedHead() {
    assertThat(OFFER.encode().toString()).isEqualTo(HEAD);
  }

  @Test
  void parsesAnOfferAndCountsOnlyItsHead() {
    Buffer bytes = OFFER.encode().appendString("client bytes");
    IngressOffer.Parsed parsed = IngressOffer.parse(bytes);
    assertThat(parsed).isEqualTo(new IngressOffer.Offer(OFFER, HEAD.length()));
    assertThat(bytes.getString(HEAD.length(), bytes.length())).isEqualTo("client bytes");
  }

  @Test
  void parsesAnIpv6Source() {
    IngressOffer offer = new IngressOffer(new HostPort("2001:db8::7", 4444), new HostPort("web.demo.funnel.example", 8443));
    assertThat(offer.encode().toString()).contains("Funnel-Ingress-Src: [2001:db8::7]:4444\r\n");
    assertThat(IngressOffer.parse(offer.encode())).isEqualTo(new IngressOffer.Offer(offer, offer.encode().length()));
  }

  @ParameterizedTest(name = "split after {0} bytes")
  @ValueSource(ints = {0, 1, 4, 27, 50, 100, 130})
  void needsMoreUntilTheHeadIsComplete(int split) {
    Buffer whole = OFFER.encode();
    assertThat(IngressOffer.parse(whole.getBuffer(0, Math.min(split, whole.length() - 1))))
        .isInstanceOf(IngressOffer.NeedMore.class);
    assertThat(IngressOffer.parse(whole.getBuffer(0, whole.length() - 1))).isInstanceOf(IngressOffer.NeedMore.class);
    assertThat(IngressOffer.parse(whole)).isInstanceOf(IngressOffer.Offer.class);
  }

  @Test
  void acceptsByteByByteAccumulation() {
    Buffer whole = OFFER.encode();
    Buffer acc = Buffer.buffer();
    for (int i = 0; i < whole.length() - 1; i++) {
      acc.appendByte(whole.getByte(i));
      assertThat(IngressOffer.parse(acc)).isInstanceOf(IngressOffer.NeedMore.class);
    }
    acc.appendByte(whole.getByte(whole.length() - 1));
    assertThat(IngressOffer.parse(acc)).isEqualTo(new IngressOffer.Offer(OFFER, whole.length()));
  }

  @Test
  void headerNamesAreCaseInsensitiveAndOrderFree() {
    String head = "POST /v0/ingress HTTP/1.1\r\n"
        + "funnel-ingress-target:web.demo.funnel.example:443\r\n"
        + "X-Other: whatever\r\n"
        + "FUNNEL-INGRESS-SRC:   203.0.113.7:53211  \r\n"
        + "\r\n";
    assertThat(IngressOffer.parse(Buffer.buffer(head))).isEqualTo(new IngressOffer.Offer(OFFER, head.length()));
  }

  static Stream<Arguments> rejects() {
    String src = "Funnel-Ingress-Src: 203.0.113.7:53211\r\n";
    String target = "Funnel-Ingress-Target: web.demo.funnel.example:443\r\n";
    return Stream.of(
        Arguments.of("GET", "GET /v0/ingress HTTP/1.1\r\n" + src + target + "\r\n", 405, "method GET not allowed"),
        Arguments.of("PUT", "PUT /v0/ingress HTTP/1.1\r\n" + src + target + "\r\n", 405, "method PUT"),
        Arguments.of("lower-case post", "post /v0/ingress HTTP/1.1\r\n" + src + target + "\r\n", 405, "method"),
        Arguments.of("other path", "POST /v0/other HTTP/1.1\r\n" + src + target + "\r\n", 404, "unknown path"),
        Arguments.of("path with query", "POST /v0/ingress?x=1 HTTP/1.1\r\n" + src + target + "\r\n", 404, "unknown path"),
        Arguments.of("HTTP/2", "POST /v0/ingress HTTP/2\r\n" + src + target + "\r\n", 400, "request line"),
        Arguments.of("two spaces", "POST  /v0/ingress HTTP/1.1\r\n" + src + target + "\r\n", 400, "request line"),
        Arguments.of("no version", "POST /v0/ingress\r\n" + src + target + "\r\n", 400, "request line"),
        Arguments.of("missing source", "POST /v0/ingress HTTP/1.1\r\n" + target + "\r\n", 400, "missing Funnel-Ingress-Src"),
        Arguments.of("missing target", "POST /v0/ingress HTTP/1.1\r\n" + src + "\r\n", 400, "missing Funnel-Ingress-Target"),
        Arguments.of("duplicate source", "POST /v0/ingress HTTP/1.1\r\n" + src + src + target + "\r\n", 400,
            "duplicate Funnel-Ingress-Src"),
        Arguments.of("duplicate target, other case", "POST /v0/ingress HTTP/1.1\r\n" + src + target
            + "funnel-ingress-target: evil.example:443\r\n\r\n", 400, "duplicate Funnel-Ingress-Target"),
        Arguments.of("header without colon", "POST /v0/ingress HTTP/1.1\r\n" + src + target + "Garbage\r\n\r\n", 400,
            "malformed header"),
        Arguments.of("header with empty name", "POST /v0/ingress HTTP/1.1\r\n" + src + target + ": x\r\n\r\n", 400,
            "malformed header"),
        Arguments.of("space before colon", "POST /v0/ingress HTTP/1.1\r\n" + src
            + "Funnel-Ingress-Target : web.demo.funnel.example:443\r\n\r\n", 400, "malformed header"),
        Arguments.of("bare LF smuggling a header", "POST /v0/ingress HTTP/1.1\r\n"
            + "Funnel-Ingress-Src: 203.0.113.7:53211\nFunnel-Ingress-Target: evil.example:443\r\n" + target + "\r\n", 400,
            "malformed header"),
        Arguments.of("source without port", "POST /v0/ingress HTTP/1.1\r\nFunnel-Ingress-Src: 203.0.113.7\r\n"
            + target + "\r\n", 400, "bad address"),
        Arguments.of("target port out of range", "POST /v0/ingress HTTP/1.1\r\n" + src
            + "Funnel-Ingress-Target: web.demo.funnel.example:65536\r\n\r\n", 400, "bad address"),
        Arguments.of("target port not a number", "POST /v0/ingress HTTP/1.1\r\n" + src
            + "Funnel-Ingress-Target: web.demo.funnel.example:https\r\n\r\n", 400, "bad address"));
  }

  @ParameterizedTest(name = "{0} → {2}")
  @MethodSource("rejects")
  void rejectsWithTheRightStatus(String what, String head, int status, String reason) {
    IngressOffer.Parsed parsed = IngressOffer.parse(Buffer.buffer(head));
    assertThat(parsed).isInstanceOf(IngressOffer.Reject.class);
    IngressOffer.Reject reject = (IngressOffer.Reject) parsed;
    assertThat(reject.status()).isEqualTo(status);
    assertThat(reject.reason()).contains(reason);
  }

  @Test
  void aHeadThatNeverEndsIsRejectedAtTheCap() {
    Buffer almost = Buffer.buffer("POST /v0/ingress HTTP/1.1\r\nX: ");
    while (almost.length() < IngressOffer.MAX_HEAD_BYTES - 1) {
      almost.appendString("a");
    }
    assertThat(IngressOffer.parse(almost)).isInstanceOf(IngressOffer.NeedMore.class);
    almost.appendString("a");
    IngressOffer.Parsed parsed = IngressOffer.parse(almost);
    assertThat(parsed).isInstanceOf(IngressOffer.Reject.class);
    assertThat(((IngressOffer.Reject) parsed).status()).isEqualTo(400);
    assertThat(((IngressOffer.Reject) parsed).reason()).contains("larger than " + IngressOffer.MAX_HEAD_BYTES);
  }

  @Test
  void aHeadEndingExactlyAtTheCapIsAccepted() {
    String start = "POST /v0/ingress HTTP/1.1\r\nFunnel-Ingress-Src: 203.0.113.7:53211\r\n"
        + "Funnel-Ingress-Target: web.demo.funnel.example:443\r\nX-Pad: ";
    String end = "\r\n\r\n";
    String head = start + "p".repeat(IngressOffer.MAX_HEAD_BYTES - start.length() - end.length()) + end;
    assertThat(head).hasSize(IngressOffer.MAX_HEAD_BYTES);
    assertThat(IngressOffer.parse(Buffer.buffer(head))).isEqualTo(new IngressOffer.Offer(OFFER, head.length()));
  }

  @Test
  void aMethodInTheLogIsShort() {
    IngressOffer.Parsed parsed = IngressOffer.parse(Buffer.buffer(
        "VERYLONGMETHODNAMEINDEED /v0/ingress HTTP/1.1\r\n\r\n"));
    assertThat(((IngressOffer.Reject) parsed).reason()).isEqualTo("method VERYLONGMETHODNA not allowed");
  }

  @Test
  void aHeadWithControlOrNonAsciiBytesIsNotAnOffer() {
    for (String bad : new String[] {"\u0001", "\u007f", "\u00e9"}) {
      String head = "POST /v0/ingress HTTP/1.1\r\nFunnel-Ingress-Src: 203.0.113.7:53211\r\n"
          + "Funnel-Ingress-Target: w" + bad + "b.demo.funnel.example:443\r\n\r\n";
      IngressOffer.Parsed parsed = IngressOffer.parse(Buffer.buffer(head.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)));
      assertThat(parsed).isInstanceOf(IngressOffer.Reject.class);
      assertThat(((IngressOffer.Reject) parsed).status()).isEqualTo(400);
    }
  }
}
