package dev.funnel.common.net;

/**
 * The node's end of a tunnel as a {@link GatewayLink} hands it over, already answered {@code 200}:
 * an HTTP/2 stream channel ({@link PeekedConnection}, for {@link Splice}) or a stream of a link
 * connection relayed frame by frame ({@link LinkStreams.End}, for {@link StreamSplice}: no child
 * channel per tunnel).
 */
public sealed interface NodeStream permits PeekedConnection, LinkStreams.End {

  /** Lets go of a stream that will not be spliced: its bytes released, the stream ended. */
  static void discard(NodeStream stream) {
    if (stream instanceof PeekedConnection peeked) {
      peeked.bytes().release();
      peeked.channel().close();
    } else if (stream instanceof LinkStreams.End end) {
      end.reset();
      end.discard();
    }
  }
}
