package dev.funnel.common.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * A node's stream ({@link LinkStreams.End}) as a socket a test can drive with {@link TunnelEnd}:
 * the end is spliced ({@link StreamSplice}, as the frontend does with its client) with one socket
 * of a loopback pair, and the other socket is the test's. Shared through this module's test-jar.
 */
public final class SplicedEnd {

  private SplicedEnd() {
  }

  /** The test's socket (AUTO_READ off, half-closure on), its peer spliced with {@code end}. */
  public static Future<PeekedConnection> socket(LinkStreams.End end) {
    Promise<PeekedConnection> result = Promise.promise();
    Channel[] server = new Channel[1];
    Promise<Channel> spliced = Promise.promise();   // the accepted peer, once it is
    ChannelFuture bound = new ServerBootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.serverChannel())
        .childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .childHandler(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelActive(ChannelHandlerContext ctx) {
            ctx.pipeline().remove(this);
            server[0].close();
            spliced.complete(ctx.channel());
            StreamSplice.start(PeekedConnection.fresh(ctx.channel()), end, StreamSplice.ByteCounter.NONE,
                StreamSplice.ByteCounter.NONE, Pacer.NONE, Pacer.NONE);
          }

          @Override
          public boolean isSharable() {
            return true;
          }
        })
        .bind("127.0.0.1", 0);
    bound.addListener(b -> {
      if (!b.isSuccess()) {
        end.abandon();
        result.fail(b.cause());
        return;
      }
      server[0] = bound.channel();
      new Bootstrap()
          .group(DataPlane.group())
          .channel(DataPlane.channel())
          .option(ChannelOption.AUTO_READ, false)
          .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .handler(new ClosesAfterItsPeer())
          .connect(bound.channel().localAddress())
          .addListener((ChannelFuture connected) -> {
            if (connected.isSuccess()) {
              Channel test = connected.channel();
              spliced.future().onSuccess(peer -> peer.closeFuture().addListener(f -> closeAfterPeer(test)));
              result.complete(PeekedConnection.fresh(test));
            } else {
              server[0].close();
              end.abandon();
              result.fail(connected.cause());
            }
          });
    });
    return result.future();
  }

  /** The spliced peer closed: the test's socket closes too, at once if its input has ended, else then. */
  private static void closeAfterPeer(Channel test) {
    test.eventLoop().execute(() -> {
      ClosesAfterItsPeer closer = test.pipeline().get(ClosesAfterItsPeer.class);
      if (closer == null) {
        return;   // closed already
      }
      closer.peerClosed = true;
      if (((DuplexChannel) test).isInputShutdown()) {
        test.close();
      }
    });
  }

  /**
   * Closes the test's socket once its spliced peer closed and every byte before was read: the
   * stream's end as the test sees it, as a stream channel closes with its stream (a socket would
   * stay half-open after the peer's FIN).
   */
  private static final class ClosesAfterItsPeer extends ChannelInboundHandlerAdapter {
    volatile boolean peerClosed;

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      ctx.fireUserEventTriggered(evt);   // the test's reader sees the end of input first
      if (evt instanceof ChannelInputShutdownEvent && peerClosed) {
        ctx.close();
      }
    }
  }
}
