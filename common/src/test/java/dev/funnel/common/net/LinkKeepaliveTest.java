package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The keepalive's answer probe, on an embedded channel with its clock frozen: while a stream opened
 * on the link awaits its answer, a PING goes out and something must be read before the probe is
 * due. (The end-to-end case, a real node and gateway with one link silenced by a forwarder, is
 * peerapi-gateway's {@code NodeGatewayLinkTest}.)
 */
class LinkKeepaliveTest {

  private final AtomicInteger dead = new AtomicInteger();

  private EmbeddedChannel link() {
    EmbeddedChannel link = new EmbeddedChannel();
    link.freezeTime();
    link.pipeline().addLast(Links.KEEPALIVE, new LinkKeepalive(4_000, 12_000, 2_000, dead::incrementAndGet));
    return link;
  }

  private static void advance(EmbeddedChannel link, long millis) {
    link.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    link.runScheduledPendingTasks();
  }

  private static int pingsOut(EmbeddedChannel link) {
    int pings = 0;
    for (Object out; (out = link.readOutbound()) != null; ) {
      if (out instanceof Http2PingFrame) {
        pings++;
      }
      ReferenceCountUtil.release(out);
    }
    return pings;
  }

  private static void read(EmbeddedChannel link) {
    link.writeInbound(Unpooled.wrappedBuffer(new byte[] {0}));
    ReferenceCountUtil.release(link.readInbound());
  }

  @Test
  void aLinkThatReadsNothingAfterTheProbeWhileAnOfferWaitsIsClosed() {
    EmbeddedChannel link = link();
    Links.awaitingAnswer(link);
    assertThat(pingsOut(link)).as("the probe's PING goes out at once").isEqualTo(1);
    advance(link, 1_999);
    assertThat(link.isOpen()).isTrue();
    advance(link, 1);
    assertThat(link.isOpen()).as("nothing read within the probe").isFalse();
    assertThat(dead).hasValue(1);
  }

  @Test
  void aLinkThatAnswersEachProbeStaysAndIsProbedOnlyWhileAnAnswerIsAwaited() {
    EmbeddedChannel link = link();
    Links.awaitingAnswer(link);
    Links.awaitingAnswer(link);
    assertThat(pingsOut(link)).as("one probe for both offers").isEqualTo(1);
    read(link);
    advance(link, 2_000);
    assertThat(link.isOpen()).isTrue();
    assertThat(pingsOut(link)).as("answers still awaited: probed again").isEqualTo(1);
    Links.answered(link);
    read(link);
    advance(link, 2_000);
    assertThat(pingsOut(link)).as("one answer still awaited").isEqualTo(1);
    Links.answered(link);
    read(link);
    advance(link, 2_000);
    assertThat(pingsOut(link)).as("nothing awaited: no probe").isZero();
    advance(link, 10_000);
    assertThat(link.isOpen()).as("no offer waits: only the slow keepalive judges the link").isTrue();
    assertThat(dead).hasValue(0);
    link.close();
  }

  @Test
  void aConnectionWithoutAKeepaliveIsLeftAlone() {
    EmbeddedChannel plain = new EmbeddedChannel();
    Links.awaitingAnswer(plain);
    Links.answered(plain);
    assertThat(pingsOut(plain)).isZero();
    assertThat(plain.isOpen()).isTrue();
  }
}
