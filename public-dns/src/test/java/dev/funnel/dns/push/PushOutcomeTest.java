package dev.funnel.dns.push;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.Update;
import org.xbill.DNS.WireParseException;
import org.xbill.DNS.ZoneTransferException;

/** How answers and errors are classified: the outcome label and the failure kind logged once. */
class PushOutcomeTest {

  static final TSIG KEY = new TSIG(TSIG.HMAC_SHA256, Name.fromConstantString("funnel."),
      "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=");
  static final TSIG OTHER_KEY = new TSIG(TSIG.HMAC_SHA256, Name.fromConstantString("funnel."),
      "b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyMTI=");

  static Stream<Arguments> errors() {
    return Stream.of(
        Arguments.of(new ConnectException("Connection refused"), PushOutcome.UNREACHABLE),
        Arguments.of(new SocketTimeoutException("timed out"), PushOutcome.UNREACHABLE),
        Arguments.of(new CompletionException(new IOException("reset")), PushOutcome.UNREACHABLE),
        Arguments.of(new WireParseException("invalid message id"), PushOutcome.REJECTED),
        Arguments.of(new ZoneTransferException("NOTAUTH"), PushOutcome.REFUSED),
        Arguments.of(new ZoneTransferException("REFUSED"), PushOutcome.REFUSED),
        Arguments.of(new ZoneTransferException("TSIG failure: BADSIG"), PushOutcome.REFUSED),
        Arguments.of(new ZoneTransferException("NOTZONE"), PushOutcome.REJECTED),
        Arguments.of(new ZoneTransferException("missing initial SOA"), PushOutcome.REJECTED),
        Arguments.of(new ReplyException(ReplyFailure.TIMEOUT, "timed out"), PushOutcome.NO_REGISTRY),
        Arguments.of(new PushException(PushOutcome.REFUSED, "x"), PushOutcome.REFUSED),
        Arguments.of(new IllegalStateException("?"), PushOutcome.REJECTED));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("errors")
  void errorsOnTheWay(Throwable error, PushOutcome expected) {
    assertThat(PushOutcome.of(error)).isEqualTo(expected);
    assertThat(expected.failed()).isTrue();
  }

  static Stream<Arguments> rcodes() {
    return Stream.of(
        Arguments.of(Rcode.REFUSED, PushOutcome.REFUSED),
        Arguments.of(Rcode.NOTAUTH, PushOutcome.REFUSED),
        Arguments.of(Rcode.SERVFAIL, PushOutcome.REJECTED),
        Arguments.of(Rcode.FORMERR, PushOutcome.REJECTED),
        Arguments.of(Rcode.NOTZONE, PushOutcome.REJECTED),
        Arguments.of(Rcode.NOERROR, PushOutcome.REFUSED));
  }

  @ParameterizedTest(name = "unsigned {0}: {1}")
  @MethodSource("rcodes")
  void unsignedAnswersAreNeverSuccesses(int rcode, PushOutcome expected) {
    Message answer = new Message();
    answer.getHeader().setOpcode(Opcode.UPDATE);
    answer.getHeader().setRcode(rcode);
    assertThat(PushOutcome.of(answer, true)).isEqualTo(expected);
  }

  @Test
  void aNoerrorSignedWithOurKeyIsPushedAndOneSignedWithAnotherIsRefused() throws Exception {
    assertThat(PushOutcome.of(signedAnswer(KEY, KEY, Rcode.NOERROR), true)).isEqualTo(PushOutcome.PUSHED);
    assertThat(PushOutcome.of(signedAnswer(KEY, OTHER_KEY, Rcode.NOERROR), true)).isEqualTo(PushOutcome.REFUSED);
    assertThat(PushOutcome.of(signedAnswer(KEY, KEY, Rcode.SERVFAIL), true)).isEqualTo(PushOutcome.REJECTED);
  }

  @Test
  void aTsigErrorInTheAnswerIsRefused() {
    Message answer = new Message();
    answer.getHeader().setRcode(Rcode.NOTAUTH);
    answer.addRecord(new TSIGRecord(Name.fromConstantString("funnel."), org.xbill.DNS.DClass.ANY, 0, TSIG.HMAC_SHA256,
        java.time.Instant.now(), Duration.ofSeconds(300), new byte[0], 1, Rcode.BADSIG, null),
        org.xbill.DNS.Section.ADDITIONAL);
    assertThat(PushOutcome.of(answer, true)).isEqualTo(PushOutcome.REFUSED);
  }

  /** An update signed with {@code ours}, answered by a server signing with {@code theirs}, parsed and verified as the client does. */
  private static Message signedAnswer(TSIG ours, TSIG theirs, int rcode) throws Exception {
    Update update = new Update(Name.fromConstantString("funnel.test."));
    ours.apply(update, null);
    byte[] sent = update.toWire();
    Message asSent = new Message(sent);
    Message answer = new Message(update.getHeader().getID());
    answer.getHeader().setOpcode(Opcode.UPDATE);
    answer.getHeader().setFlag(org.xbill.DNS.Flags.QR);
    answer.getHeader().setRcode(rcode);
    theirs.apply(answer, asSent.getTSIG());
    byte[] wire = answer.toWire();
    Message received = new Message(wire);
    ours.verify(received, wire, update.getTSIG());
    return received;
  }
}
