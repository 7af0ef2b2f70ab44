package dev.funnel.gateway;

import dev.funnel.common.net.LinkStreams;

import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.DataPlaneListener;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.options.GatewayOptions;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.FrameReader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The TLS listener nodes dial, on the data plane's loops. Every connection gets a Challenge and has
 * the login timeout to send its first frame, which decides what it is:
 *
 * <pre>
 *   Hello     → a control connection: handed to the verticle (login, session upkeep) as a {@link ControlChannel}
 *   DataHello → a link connection of a session (secret checked in constant time, per-session cap):
 *               from the next byte it speaks HTTP/2, the node the server, this gateway the client
 *   else      → closed, one log line
 * </pre>
 */
final class NodeListener {

  private static final System.Logger LOG = System.getLogger(NodeListener.class.getName());

  /** A control connection whose first frame was a Hello: the rest is the verticle's. */
  record NewControl(ControlChannel channel, Hello hello, List<ControlMessage> rest, FrameReader reader, String nonce) {
  }

  private final GatewayOptions options;
  private final SslContext tls;
  private final LinkDirectory directory;
  private final Context context;
  private final Consumer<NewControl> onControl;
  /** Connections refused before a login or a link (anyone can dial this port): LogLimit's budget. */
  private final LogLimit rejections = new LogLimit();
  private DataPlaneListener server;

  NodeListener(GatewayOptions options, SslContext tls, LinkDirectory directory, Context context,
               Consumer<NewControl> onControl) {
    this.options = options;
    this.tls = tls;
    this.directory = directory;
    this.context = context;
    this.onControl = onControl;
  }

  /** Binds the listener; completes with the port bound. */
  Future<Integer> bind() {
    return DataPlaneListener.bind(options.getListen(), new ChannelInitializer<>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast(LinkTls.serverHandler(tls, ch.alloc(), options.getLoginTimeoutMillis()));
        ch.pipeline().addLast("funnel-first-frame", new FirstFrame());
      }
    }).map(listener -> {
      server = listener;
      return listener.port();
    });
  }

  Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  /** Reads a connection's first frame under the login deadline, then hands it on. */
  private final class FirstFrame extends ChannelInboundHandlerAdapter {
    private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    private final String nonce = NodeSecrets.newSecret();
    private ScheduledFuture<?> deadline;
    private boolean decided;
    /**
     * While a link connection moves to another loop: what its TLS handler decrypted after the
     * DataHello (the rest of the read in which it came, often the node's SETTINGS), for the HTTP/2
     * codec once it is there. Null otherwise.
     */
    private Buffer held;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      deadline = ctx.executor().schedule(() -> reject(ctx, "said nothing within " + options.getLoginTimeoutMillis()
          + " ms"), options.getLoginTimeoutMillis(), TimeUnit.MILLISECONDS);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(new Challenge(nonce).encode().getBytes()));
      ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      cancel();
      ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf bytes = (ByteBuf) msg;
      if (held != null) {
        held.appendBytes(ByteBufUtil.getBytes(bytes));
        bytes.release();
        return;
      }
      if (decided) {
        bytes.release();
        return;
      }
      byte[] copy = new byte[bytes.readableBytes()];
      bytes.readBytes(copy);
      bytes.release();
      ControlMessage first;
      List<ControlMessage> rest;
      try {
        // One frame only: behind a DataHello come HTTP/2 bytes, not frames.
        first = reader.next(Buffer.buffer(copy));
        if (first == null) {
          return;
        }
        rest = first instanceof DataHello ? List.of() : reader.feed(Buffer.buffer());
      } catch (ControlMessage.InvalidMessage e) {
        reject(ctx, "first frame: " + e.getMessage());
        return;
      }
      decided = true;
      cancel();
      if (first instanceof Hello hello) {
        ctx.pipeline().remove(this);
        ControlChannel control = ControlChannel.install(ctx.channel(), context);
        context.runOnContext(v -> onControl.accept(new NewControl(control, hello, rest, reader, nonce)));
      } else if (first instanceof DataHello hello) {
        link(ctx, hello, rest);
      } else {
        reject(ctx, "first message is " + first.toJson().getString("type") + ", not hello or data-hello");
      }
    }

    /** A link connection: check it belongs to a live session, then switch it to HTTP/2. */
    private void link(ChannelHandlerContext ctx, DataHello hello, List<ControlMessage> rest) {
      NodeLinks links = directory.bySession(hello.sessionId()).orElse(null);
      if (links == null) {
        reject(ctx, "presented an unknown session");
        return;
      }
      if (!links.acceptsSecret(hello.dataSecret())) {
        reject(ctx, "presented a wrong data secret for " + links.nodeId);
        return;
      }
      if (links.size() >= options.getMaxLinksPerNode()) {
        // Refused before it speaks HTTP/2: the node counts a link up only on the gateway's SETTINGS.
        reject(ctx, "is one link connection too many for " + links.nodeId + " (limit "
            + options.getMaxLinksPerNode() + ")");
        return;
      }
      Channel channel = ctx.channel();
      Buffer leftover = reader.remainder();
      EventLoop accepted = channel.eventLoop();
      EventLoop loop = links.placeLink(accepted, DataPlane.loops());
      channel.closeFuture().addListener(f -> links.releaseLoop(loop));
      if (loop == accepted) {
        ctx.pipeline().remove(this);
        speakHttp2(channel, links, leftover);
        return;
      }
      // Another of this node's links already runs on this loop and some loop has none: move it
      // there before it speaks HTTP/2, so clients on every loop find a link on their own
      // (NodeLinks.pick). Reading stops; what the TLS handler still decrypts from the read under
      // way is held here, not dropped, and reaches the codec after the move.
      held = leftover;
      channel.config().setAutoRead(false);
      channel.deregister().addListener(off -> {
        if (!off.isSuccess()) {
          channel.close();
          return;
        }
        loop.register(channel).addListener(on -> {
          if (!on.isSuccess()) {
            channel.close();
            return;
          }
          LOG.log(Level.DEBUG, () -> "link connection of " + links.nodeId + " moved from data-plane loop "
              + DataPlane.loopIndex(accepted) + " to " + DataPlane.loopIndex(loop));
          Buffer bytes = held;
          held = null;
          channel.pipeline().remove(this);
          speakHttp2(channel, links, bytes);
          channel.config().setAutoRead(true);
        });
      });
    }

    /** From here the link connection speaks HTTP/2: this gateway the client, the node the server. */
    private void speakHttp2(Channel channel, NodeLinks links, Buffer leftover) {
      ChannelPipeline pipeline = channel.pipeline();
      pipeline.addLast(Links.FLUSH, Links.flushConsolidation());
      pipeline.addLast(Links.KEEPALIVE, Links.keepalive(options.getPingIntervalMillis(), options.getDeadAfterMillis(),
          () -> LOG.log(Level.INFO, "link connection of " + links.nodeId + " went silent; closing it")));
      pipeline.addLast(Links.CODEC, Links.clientCodec(Links.settings(options.getStreamWindowBytes(),
          Links.DEFAULT_MAX_CONCURRENT_STREAMS)));
      // Every tunnel's stream is an end of frames (no child channel): spliced with the client's
      // socket by the frontend in this JVM, relayed to a frontend link's stream (FrameSplice).
      pipeline.addLast(LinkStreams.NAME, LinkStreams.refusingInbound());
      Links.raiseConnectionWindow(channel, options.getConnectionWindowBytes());
      // Visible to opens only now: an open picks a connection from any thread, and a stream can
      // only be opened once LinkStreams is in the pipeline.
      if (!links.add(channel, options.getMaxLinksPerNode())) {
        rejections.log(LOG, Level.INFO, "rejections", () -> "connection from "
            + String.valueOf(channel.remoteAddress()).replaceFirst("^/", "") + " is one link connection too many for "
            + links.nodeId + " (limit " + options.getMaxLinksPerNode() + "); rejecting");
        channel.close();
        return;
      }
      if (leftover.length() > 0) {
        pipeline.context(SslHandler.class).fireChannelRead(Unpooled.wrappedBuffer(leftover.getBytes()));
        pipeline.context(SslHandler.class).fireChannelReadComplete();
      }
      LOG.log(Level.DEBUG, () -> "link connection " + links.size() + " of " + links.nodeId + " from "
          + channel.remoteAddress() + " on data-plane loop " + DataPlane.loopIndex(channel.eventLoop()));
    }

    private void reject(ChannelHandlerContext ctx, String reason) {
      decided = true;
      cancel();
      rejections.log(LOG, Level.INFO, "rejections", () -> "connection from "
          + String.valueOf(ctx.channel().remoteAddress()).replaceFirst("^/", "") + " " + reason + "; rejecting");
      ctx.close();
    }

    private void cancel() {
      if (deadline != null) {
        deadline.cancel(false);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.log(Level.DEBUG, () -> "connection from " + ctx.channel().remoteAddress() + ": " + cause);
      ctx.close();
    }
  }
}
