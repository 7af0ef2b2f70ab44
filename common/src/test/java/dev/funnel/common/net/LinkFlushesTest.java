package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class LinkFlushesTest {

  @Test
  void decision() {
    assertThat(LinkFlushes.flushNow(0)).isFalse();
    assertThat(LinkFlushes.flushNow(400)).isFalse();
    assertThat(LinkFlushes.flushNow(LinkFlushes.BULK_BYTES - 1)).isFalse();
    assertThat(LinkFlushes.flushNow(LinkFlushes.BULK_BYTES)).isTrue();
    assertThat(LinkFlushes.flushNow(1 << 20)).isTrue();
  }

  // EmbeddedChannel runs its pending tasks (a consolidated flush among them) on every write that
  // reaches its head, so each case writes everything first and flushes once.

  @Test
  void smallFlushesOutsideAReadWaitForTheLoop() {
    EmbeddedChannel link = new EmbeddedChannel(new LinkFlushes());
    link.pipeline().write(Unpooled.wrappedBuffer(new byte[300]));
    link.pipeline().write(Unpooled.wrappedBuffer(new byte[200]));
    link.pipeline().flush();
    assertThat(link.outboundMessages()).as("consolidated: nothing written yet").isEmpty();
    link.runPendingTasks();
    assertThat(link.outboundMessages()).hasSize(2);
    link.finishAndReleaseAll();
  }

  @Test
  void aBulkFlushGoesOutAtOnce() {
    EmbeddedChannel link = new EmbeddedChannel(new LinkFlushes());
    link.pipeline().write(Unpooled.wrappedBuffer(new byte[300]));
    link.pipeline().write(Unpooled.wrappedBuffer(new byte[(int) LinkFlushes.BULK_BYTES]));
    link.pipeline().flush();
    assertThat(link.outboundMessages()).as("a full frame waits: flushed now, with what was before it").hasSize(2);
    ByteBuf first = link.readOutbound();
    assertThat(first.readableBytes()).isEqualTo(300);
    first.release();
    link.finishAndReleaseAll();
  }
}
