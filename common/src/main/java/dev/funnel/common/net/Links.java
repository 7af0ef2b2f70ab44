package dev.funnel.common.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.util.UncheckedBooleanSupplier;

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
  /**
   * While an offer on a link awaits its answer, a read must follow each PING within this (a round
   * trip on a live link): a link that went silent is found before the offer timeout (5 s), and its
   * offers go to another link.
   */
  public static final long DEFAULT_ANSWER_PROBE_MILLIS = 2_000;
  /** Initial HTTP/2 connection window (RFC 9113 §6.9.2). */
  private static final int INITIAL_WINDOW = 65_535;

  public static final String CODEC = "funnel-h2";
  public static final String KEEPALIVE = "funnel-keepalive";
  public static final String FLUSH = "funnel-flush";

  private Links() {
  }

  /** DATA frames up to this are accepted: one socket read (up to 64 KiB) travels as one frame, not four. */
  public static final int MAX_FRAME_BYTES = 64 * 1024;

  public static Http2Settings settings(int streamWindow, int maxStreams) {
    return Http2Settings.defaultSettings()
        .initialWindowSize(streamWindow)
        .maxConcurrentStreams(maxStreams)
        .maxFrameSize(MAX_FRAME_BYTES)
        .maxHeaderListSize(16 * 1024);
  }

  /**
   * RST_STREAM frames a link connection accepts per window before Netty closes it as a rapid-reset
   * flood: none (0 turns the check off). A tunnel whose client or local server closes abruptly ends
   * its stream with RST_STREAM, so a busy link receives hundreds a second in normal use; Netty's
   * default (200 per 30 s, meant for public HTTP/2 servers) closed busy links, failing every tunnel
   * on them. A reset here costs no more than any other frame: the side that receives a reset only
   * closes a stream it already holds (a node never opens streams; a gateway's frontends are its own).
   */
  static final int MAX_RST_FRAMES_PER_WINDOW = 0;

  public static Http2FrameCodec serverCodec(Http2Settings settings) {
    return withoutCopies(new LinkCodecBuilder(true).initialSettings(settings).validateHeaders(true)
        .decoderEnforceMaxRstFramesPerWindow(MAX_RST_FRAMES_PER_WINDOW, 0).build());
  }

  public static Http2FrameCodec clientCodec(Http2Settings settings) {
    return withoutCopies(new LinkCodecBuilder(false).initialSettings(settings).validateHeaders(true)
        .decoderEnforceMaxRstFramesPerWindow(MAX_RST_FRAMES_PER_WINDOW, 0).build());
  }

  /**
   * Bytes one stream may send in its turn when several streams of a link have DATA waiting. Netty's
   * fair distributor gives each a turn of 1 KiB by default: with 8 bulk streams on a link, DATA
   * frames came out ~1 KiB long, and the receiving side flushed ~3 KiB per write to its clients
   * (a held cluster path: the frontend made 728,000 writes in 10 s for 2 GiB, 3.7 s of CPU per GiB
   * against 0.9 with one stream). A turn of a whole frame keeps frames as large as one stream's.
   * The distributor is the uniform one (streams in turn, no priority tree; the links use no
   * priorities): its state per stream is a third of the weighted-fair one's (held cluster, 5,000
   * idle tunnels: 88 B of distributor state plus a 24 B priority queue per stream before).
   */
  static final int STREAM_TURN_BYTES = MAX_FRAME_BYTES;

  /** Netty's frame codec builder with the link's own flow controller ({@link #STREAM_TURN_BYTES}). */
  private static final class LinkCodecBuilder extends Http2FrameCodecBuilder {
    private final boolean server;

    LinkCodecBuilder(boolean server) {
      this.server = server;
      // As forServer()/forClient() have it: a close is a close, not a 30 s wait for open streams.
      gracefulShutdownTimeoutMillis(0);
      Http2Connection connection = new DefaultHttp2Connection(server);
      UniformStreamByteDistributor distributor = new UniformStreamByteDistributor(connection);
      distributor.minAllocationChunk(STREAM_TURN_BYTES);
      connection.remote().flowController(new DefaultHttp2RemoteFlowController(connection, distributor));
      connection(connection);
    }

    /**
     * The side, for the builder's per-side defaults (its limit on RST_STREAMs sent, say), as
     * forServer()/forClient() would set it: the builder refuses {@code server(…)} beside a connection.
     */
    @Override
    public boolean isServer() {
      return server;
    }
  }

  /**
   * The codec gathers the TLS handler's decrypted chunks (a record of at most 16 KiB each) into
   * frames of up to 64 KiB. Netty's default cumulator copies every chunk into one growing buffer
   * (and copies it again each time it grows): profiled on a bulk download, 7 % of the receiving
   * process's CPU. A composite keeps the chunks as they are; a DATA frame's payload is then a slice
   * of them, written to the other side's socket with one gathering write.
   */
  private static Http2FrameCodec withoutCopies(Http2FrameCodec codec) {
    codec.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
    return codec;
  }

  /** Raises the connection's receive window from the protocol's 64 KiB to {@code window} (call once it is active). */
  public static void raiseConnectionWindow(Channel connection, int window) {
    if (window > INITIAL_WINDOW) {
      connection.writeAndFlush(new DefaultHttp2WindowUpdateFrame(window - INITIAL_WINDOW));
    }
  }

  /**
   * Flushes the streams of one link connection ask for in one event-loop turn become one: one TLS
   * record run and one {@code write} instead of one per stream, except once a bulk stream has a full
   * frame's worth waiting ({@link LinkFlushes}). Profiled on the bench's new-tunnels run, the link's
   * flushes (TLS wrap plus a write syscall each) were the largest share of the node's CPU. Goes
   * right after the TLS handler, before the keepalive.
   */
  public static ChannelHandler flushConsolidation() {
    return new LinkFlushes();
  }

  /** The keepalive handler, to go right after the TLS handler (it sees every decrypted byte). */
  public static ChannelHandler keepalive(long pingIntervalMillis, long deadAfterMillis, Runnable onDead) {
    return new LinkKeepalive(pingIntervalMillis, deadAfterMillis, answerProbeMillis(pingIntervalMillis), onDead);
  }

  /**
   * How often a link with offers awaiting their answer is probed, and how long a probe waits for
   * a read: {@link #DEFAULT_ANSWER_PROBE_MILLIS}, or the ping interval when that is shorter (tests).
   */
  static long answerProbeMillis(long pingIntervalMillis) {
    return Math.max(1, Math.min(DEFAULT_ANSWER_PROBE_MILLIS, pingIntervalMillis));
  }

  /**
   * A stream just opened on {@code connection} awaits its answer: its keepalive probes the link
   * until no answer is outstanding (LinkKeepalive). On the connection's loop; a connection without
   * a keepalive is left alone.
   */
  public static void awaitingAnswer(Channel connection) {
    ChannelHandlerContext ctx = connection.pipeline().context(KEEPALIVE);
    if (ctx != null && ctx.handler() instanceof LinkKeepalive keepalive) {
      keepalive.awaitingAnswer(ctx);
    }
  }

  /** The stream counted by {@link #awaitingAnswer} got its answer or gave up. On the connection's loop. */
  public static void answered(Channel connection) {
    if (connection.pipeline().get(KEEPALIVE) instanceof LinkKeepalive keepalive) {
      keepalive.answered();
    }
  }

}
