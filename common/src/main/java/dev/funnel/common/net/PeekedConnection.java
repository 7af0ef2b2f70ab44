package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

/**
 * A connection on its way to a splice ({@link StreamSplice}): the channel, every byte already read from it and not
 * yet passed on (exactly as received: the other side gets these first), and whether its peer has
 * already ended its input (a FIN, or an HTTP/2 END_STREAM, read while it was being routed). One
 * type from accept to splice, as inetaf/tcpproxy's {@code Conn{Peeked}}: routers only peek.
 *
 * <p>The channel reads nothing by itself ({@code AUTO_READ} off) until the splice asks; the
 * {@code bytes} are owned by this value until the splice writes them.
 */
public record PeekedConnection(Channel channel, ByteBuf bytes, boolean inputEnded) {

  /** A connection nothing has been read from yet. */
  public static PeekedConnection fresh(Channel channel) {
    return new PeekedConnection(channel, Unpooled.EMPTY_BUFFER, false);
  }
}
