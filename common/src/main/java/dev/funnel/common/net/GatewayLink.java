package dev.funnel.common.net;

import dev.funnel.common.bus.OpenRequest;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/**
 * How a frontend opens a tunnel through a gateway: the open carries the stream. In one JVM the
 * gateway itself (no socket); across processes an HTTP/2 stream over a mutually authenticated TLS
 * connection to the gateway. Either way the result is the node's stream, already answered {@code
 * 200} by the node, ready to splice with the client's socket ({@link StreamSplice}).
 */
public interface GatewayLink {

  /**
   * Opens a stream to the node {@code request} names, sending {@code first} (the client's bytes read
   * so far: its ClientHello) with the open, before the node's answer. Completes with the stream: in
   * one JVM the node's stream on its link connection, across processes the stream on the link to
   * the gateway (each holding the frames that came right after the answer until a listener takes
   * them; {@link LinkStreams.End#abandon} lets go of one not spliced), or fails with an {@code OpenFailure}-coded
   * exception ({@code FailureCode.of}); a failure that is not coded means the gateway could not be
   * reached. Never blocks; completion may come on any thread.
   *
   * <p>{@code first} is not taken: the link keeps its own reference ({@code retainedDuplicate}) from
   * the call on, and the caller still owns its buffer. Once the open succeeded those bytes are on
   * their way to the node, so the caller must not send them again; after a failure nothing of them
   * counts as sent (another open may carry them).
   *
   * @param loop where the caller runs (the client's channel); the result's listeners may run there
   */
  Future<LinkStreams.End> open(OpenRequest request, ByteBuf first, EventLoop loop);
}
