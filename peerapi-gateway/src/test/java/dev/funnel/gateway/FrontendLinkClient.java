package dev.funnel.gateway;

import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.net.StreamOpener;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/** A frontend's HTTP/2 link to a gateway, for tests: mutual TLS, the frontend the client. */
final class FrontendLinkClient {

  private FrontendLinkClient() {
  }

  /** Dials the gateway's link port; completes once TLS is up. */
  static Future<Channel> connect(SslContext tls, int port) {
    Promise<Channel> up = Promise.promise();
    new Bootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.channel())
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            SslHandler ssl = LinkTls.clientHandler(tls, ch.alloc(), "127.0.0.1", port, false, 5_000);
            ch.pipeline().addLast(ssl);
            ch.pipeline().addLast(Links.CODEC, Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 100)));
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            ssl.handshakeFuture().addListener(f -> {
              if (f.isSuccess()) {
                up.tryComplete(ch);
              } else {
                up.tryFail(f.cause());
              }
            });
          }
        })
        .option(ChannelOption.TCP_NODELAY, true)
        .connect("127.0.0.1", port)
        .addListener((ChannelFuture f) -> {
          if (!f.isSuccess()) {
            up.tryFail(f.cause());
          }
        });
    return up.future();
  }

  /** Opens one stream with {@code request} as its head; the answer's head. */
  static Future<OpenAnswer> open(Channel link, Http2Headers request) {
    Promise<OpenAnswer> answer = Promise.promise();
    StreamOpener.open(link, request, 5_000).addListener(f -> {
      if (f.isSuccess()) {
        answer.complete((OpenAnswer) f.getNow());
      } else {
        answer.fail(f.cause());
      }
    });
    return answer.future();
  }
}
