package dev.funnel.common.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.flush.FlushConsolidationHandler;

/**
 * A link connection's flushes: small ones consolidated, bulk ones at once. Netty's
 * {@link FlushConsolidationHandler} turns the flushes of a link's streams in one loop turn into one
 * TLS wrap and one {@code write} (the new-tunnel case: a HEADERS frame and a ClientHello per stream,
 * a few hundred bytes each). For bulk streams it costs throughput: a flush outside a read waits for
 * a task that runs only once every ready socket on the loop has been read, so the link's socket sits
 * idle while up to a megabyte per stream queues behind it. When {@link #BULK_BYTES} or more wait to
 * go out, a flush goes through at once.
 *
 * <p>Sits right after the TLS handler. What waits is the channel's pending outbound bytes: the TLS
 * handler counts what it holds unencrypted there too, so this sees every frame written since the
 * last flush plus what the socket has not taken yet.
 */
final class LinkFlushes extends FlushConsolidationHandler {

  /** Bytes waiting from which a flush is not worth delaying: one full DATA frame. */
  static final long BULK_BYTES = Links.MAX_FRAME_BYTES;

  LinkFlushes() {
    super(DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true);
  }

  /** The decision, pure: flush now (true) or leave it to consolidation. */
  static boolean flushNow(long waitingBytes) {
    return waitingBytes >= BULK_BYTES;
  }

  @Override
  public void flush(ChannelHandlerContext ctx) throws Exception {
    ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
    if (out != null && flushNow(out.totalPendingWriteBytes())) {
      ctx.flush();   // a consolidated flush still scheduled finds nothing left, and costs nothing
      return;
    }
    super.flush(ctx);
  }
}
