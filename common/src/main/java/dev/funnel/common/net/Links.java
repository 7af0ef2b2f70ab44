package dev.funnel.common.net;

import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.channel.Channel;

/**
 * The HTTP/2 shape of every data-plane link (node ⇄ gateway: the node is the server on the
 * connections it dialled; frontend ⇄ gateway: the gateway is the server): Netty's frame codec with
 * per-stream windows large enough for one stream to carry 1 Gbit/s at 20 ms RTT, a connection
 * window that lets many streams run at once, and a cap on concurrent streams.
 *
 * <p>Memory: a receiver holds at most one stream window of a stream whose reader is slow (the
 * splice reads a stream only while its other side is writable, and the window returns only as it
 * reads), and at most the connection window per connection in all.
 */
public final class Links {

  /** 3 MiB: 1 Gbit/s × 20 ms is 2.5 MB. */
  public static final int DEFAULT_STREAM_WINDOW_BYTES = 3 << 20;
  /** 64 MiB per connection: room for a few dozen busy streams before the connection itself waits. */
  public static final int DEFAULT_CONNECTION_WINDOW_BYTES = 64 << 20;
  /** Streams one link connection carries at once. */
  public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 10_000;
  /** A PING when a connection was silent this long. */
  public static final long DEFAULT_PING_INTERVAL_MILLIS = 4_000;
  /** A connection silent this long (no frame, not even a PING ack) is dead and closed. */
  public static final long DEFAULT_DEAD_AFTER_MILLIS = 12_000;
  /** Initial HTTP/2 connection window (RFC 9113 §6.9.2). */
  private static final int INITIAL_WINDOW = 65_535;

  public static final String CODEC = "funnel-h2";
  public static final String KEEPALIVE = "funnel-keepalive";

  private Links() {
  }

  public static Http2Settings settings(int streamWindow, int maxStreams) {
    return Http2Settings.defaultSettings()
        .initialWindowSize(streamWindow)
        .maxConcurrentStreams(maxStreams)
        .maxHeaderListSize(16 * 1024);
  }

  public static Http2FrameCodec serverCodec(Http2Settings settings) {
    return Http2FrameCodecBuilder.forServer().initialSettings(settings).validateHeaders(true).build();
  }

  public static Http2FrameCodec clientCodec(Http2Settings settings) {
    return Http2FrameCodecBuilder.forClient().initialSettings(settings).validateHeaders(true).build();
  }

  /** Raises the connection's receive window from the protocol's 64 KiB to {@code window} (call once it is active). */
  public static void raiseConnectionWindow(Channel connection, int window) {
    if (window > INITIAL_WINDOW) {
      connection.writeAndFlush(new DefaultHttp2WindowUpdateFrame(window - INITIAL_WINDOW));
    }
  }

  /** The keepalive handler, to go right after the TLS handler (it sees every decrypted byte). */
  public static ChannelHandler keepalive(long pingIntervalMillis, long deadAfterMillis, Runnable onDead) {
    return new LinkKeepalive(pingIntervalMillis, deadAfterMillis, onDead);
  }
}
