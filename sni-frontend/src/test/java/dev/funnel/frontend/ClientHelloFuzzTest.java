package dev.funnel.frontend;

import dev.funnel.common.tls.ClientHello;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.funnel.common.tls.ClientHello.Found;
import dev.funnel.common.tls.ClientHello.Malformed;
import dev.funnel.common.tls.ClientHello.NeedMore;
import dev.funnel.common.tls.ClientHello.NoSni;
import dev.funnel.common.tls.ClientHello.Result;
import io.vertx.core.buffer.Buffer;

/**
 * Fuzzes the ClientHello framer and parser with the bytes a hostile client may send. Seeds: the
 * real captures of {@code clienthellos/} (curl, OpenSSL; TLS 1.2 and 1.3; with and without SNI),
 * one of them re-framed into 50-byte records, and plain HTTP
 * ({@code ClientHelloFuzzTestInputs/}). In a normal build each target runs on the seeds only; with
 * {@code JAZZER_FUZZ=1} Jazzer mutates them (see {@code .ci/fuzz}), and any finding is written
 * back into the inputs directory, where it stays as a regression test.
 *
 * <p>Beyond "never throws", the properties the frontend relies on:
 * <ul>
 *   <li>{@code NeedMore(atLeast)} asks for more than it has, and never more than the cap allows;</li>
 *   <li>a decision is final: fed as the frontend feeds it (parse again only once {@code atLeast}
 *   bytes are there), the same bytes reach the same decision as all at once, and bytes after the
 *   decisive point never change it (peek, don't consume);</li>
 *   <li>a found name is non-empty and its hello within the cap.</li>
 * </ul>
 */
class ClientHelloFuzzTest {

  @FuzzTest
  void parseAtTheDefaultCap(byte[] input) {
    check(input, 16 * 1024);
  }

  /** A small cap, so mutated inputs reach the "larger than the cap" paths too. */
  @FuzzTest
  void parseAtASmallCap(byte[] input) {
    check(input, 300);
  }

  static void check(byte[] input, int maxBytes) {
    Buffer whole = Buffer.buffer(input);
    Result all = ClientHello.parse(whole, maxBytes);
    assertSane(all, input.length, maxBytes);

    // As the frontend reads: parse whenever the buffer reaches the parser's hint.
    Result incremental = new NeedMore(1);
    int parseAt = 1;
    for (int length = 1; length <= input.length; length++) {
      if (length < parseAt) {
        continue;
      }
      incremental = ClientHello.parse(whole.getBuffer(0, length), maxBytes);
      assertSane(incremental, length, maxBytes);
      if (!(incremental instanceof NeedMore needMore)) {
        break;
      }
      parseAt = needMore.atLeast();
    }
    if (all instanceof NeedMore) {
      assertThat(incremental).isInstanceOf(NeedMore.class);
    } else {
      assertThat(incremental).as("decided early, as all at once").isEqualTo(all);
      Buffer more = whole.copy().appendBytes(new byte[] {22, 3, 3, 0, 5, 1, 0, 0, 1, 0});
      assertThat(ClientHello.parse(more, maxBytes)).as("later bytes change nothing").isEqualTo(all);
    }
  }

  private static void assertSane(Result result, int available, int maxBytes) {
    assertThat(result).isNotNull();
    if (result instanceof NeedMore needMore) {
      assertThat(needMore.atLeast()).isGreaterThan(available)
          .isLessThanOrEqualTo(2 * maxBytes + ClientHello.RECORD_HEADER_BYTES + ClientHello.MAX_RECORD_FRAGMENT);
    } else if (result instanceof Found found) {
      assertThat(found.serverName()).isNotEmpty();
      assertThat(found.helloLength()).isBetween(ClientHello.HANDSHAKE_HEADER_BYTES, maxBytes);
    } else if (result instanceof NoSni noSni) {
      assertThat(noSni.helloLength()).isBetween(ClientHello.HANDSHAKE_HEADER_BYTES, maxBytes);
    } else if (result instanceof Malformed malformed) {
      assertThat(malformed.reason()).isNotBlank();
    }
  }
}
