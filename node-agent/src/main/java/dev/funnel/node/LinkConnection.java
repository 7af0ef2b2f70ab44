package dev.funnel.node;

import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.OffLoopResolver;
import dev.funnel.common.options.NodeOptions;
import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.FrameReader;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.buffer.Buffer;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One link connection of a session: dialled over TLS to the session's gateway (certificate and name
 * checked as for the control connection), it reads the gateway's Challenge, says DataHello (session
 * id and secret), and from then on speaks HTTP/2 as the server: every stream the gateway opens is
 * an ingress offer ({@link IngressStream}), taken as a {@link LinkStreams.End} (frames, no child
 * channel per stream). PING keepalive both ways finds a silent connection.
 */
final class LinkConnection {

  private static final System.Logger LOG = System.getLogger(LinkConnection.class.getName());

  private LinkConnection() {
  }

  /**
   * Dials one link connection. Exactly one of the two runs: {@code onUp} with the channel once it
   * speaks HTTP/2 (its close is the caller's to watch), or {@code onDown} with the reason it never got there.
   */
  static void open(NodeAgentVerticle agent, SslContext tls, HostPort server, String sessionId, String dataSecret,
                   String fqdn, Consumer<Channel> onUp, Consumer<String> onDown) {
    NodeOptions options = agent.options();
    boolean[] decided = {false};
    Consumer<String> once = reason -> {
      if (!decided[0]) {
        decided[0] = true;
        onDown.accept(reason);
      }
    };
    Consumer<Channel> up = channel -> {
      if (!decided[0]) {
        decided[0] = true;
        onUp.accept(channel);
      }
    };
    new Bootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.channel())
        .resolver(OffLoopResolver.INSTANCE)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.getDialTimeoutMillis()))
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(LinkTls.clientHandler(tls, ch.alloc(), server.host(), server.port(), true,
                options.getDialTimeoutMillis()));
            ch.pipeline().addLast(new AwaitChallenge(agent, sessionId, dataSecret, fqdn, up, once));
          }
        })
        .connect(server.host(), server.port())
        .addListener((ChannelFuture connected) -> {
          if (!connected.isSuccess()) {
            once.accept(NodeAgentVerticle.reason(connected.cause()));
            return;
          }
          connected.channel().closeFuture().addListener(f -> once.accept("the gateway closed it before it was up"));
        });
  }

  /** Reads the Challenge (its nonce is not needed: the secret proves the session), then switches to HTTP/2. */
  private static final class AwaitChallenge extends ChannelInboundHandlerAdapter {
    private final NodeAgentVerticle agent;
    private final String sessionId;
    private final String dataSecret;
    private final String fqdn;
    private final Consumer<Channel> onUp;
    private final Consumer<String> onDown;
    private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    private ScheduledFuture<?> deadline;

    AwaitChallenge(NodeAgentVerticle agent, String sessionId, String dataSecret, String fqdn, Consumer<Channel> onUp,
                   Consumer<String> onDown) {
      this.agent = agent;
      this.sessionId = sessionId;
      this.dataSecret = dataSecret;
      this.fqdn = fqdn;
      this.onUp = onUp;
      this.onDown = onDown;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      long timeout = agent.options().getLoginTimeoutMillis();
      deadline = ctx.executor().schedule(() -> {
        onDown.accept("no challenge within " + timeout + " ms");
        ctx.close();
      }, timeout, TimeUnit.MILLISECONDS);
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf bytes = (ByteBuf) msg;
      byte[] copy = new byte[bytes.readableBytes()];
      bytes.readBytes(copy);
      bytes.release();
      ControlMessage first;
      try {
        first = reader.next(Buffer.buffer(copy));
      } catch (ControlMessage.InvalidMessage e) {
        fail(ctx, e.getMessage());
        return;
      }
      if (first == null) {
        return;
      }
      if (!(first instanceof Challenge)) {
        fail(ctx, "expected a challenge, got " + first.getClass().getSimpleName());
        return;
      }
      if (reader.remainder().length() > 0) {
        fail(ctx, "bytes after the challenge");
        return;
      }
      deadline.cancel(false);
      Channel channel = ctx.channel();
      ctx.writeAndFlush(Unpooled.wrappedBuffer(new DataHello(sessionId, dataSecret).encode().getBytes()));
      NodeOptions options = agent.options();
      ChannelPipeline pipeline = ctx.pipeline();
      pipeline.remove(this);
      pipeline.addLast(Links.FLUSH, Links.flushConsolidation());
      pipeline.addLast(Links.KEEPALIVE, Links.keepalive(options.getPingIntervalMillis(), options.getDeadAfterMillis(),
          () -> LOG.log(Level.INFO, "link connection to " + channel.remoteAddress() + " went silent; closing it")));
      pipeline.addLast(Links.CODEC, Links.serverCodec(Links.settings(options.getStreamWindowBytes(),
          options.getMaxConcurrentStreams())));
      // Up only once the gateway took the DataHello: its HTTP/2 SETTINGS say so. A gateway that
      // refuses the link (unknown session, wrong secret, too many links) just closes it, and that
      // must count as a failed dial (with backoff), not as a link that came up and dropped. Before
      // LinkStreams, which takes the SETTINGS and passes nothing on.
      pipeline.addLast(new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext settings, Object msg) {
          if (msg instanceof Http2SettingsFrame) {
            settings.pipeline().remove(this);
            onUp.accept(channel);
          }
          settings.fireChannelRead(msg);
        }
      });
      // Every stream the gateway opens is an offer, and a stream is a LinkStreams.End (its frames,
      // no child channel): last in the pipeline.
      IngressStream offers = new IngressStream(agent, fqdn);
      pipeline.addLast(LinkStreams.NAME, new LinkStreams(offers::onOffer));
      Links.raiseConnectionWindow(channel, options.getConnectionWindowBytes());
    }

    private void fail(ChannelHandlerContext ctx, String reason) {
      if (deadline != null) {
        deadline.cancel(false);
      }
      onDown.accept(reason);
      ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      onDown.accept(NodeAgentVerticle.reason(cause));
      ctx.close();
    }
  }

}
