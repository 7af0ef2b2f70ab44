package dev.funnel.bench;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import javax.net.ssl.SSLException;

/**
 * Transport and TLS for the load generator and the backend: Netty's native epoll transport and
 * OpenSSL (BoringSSL through netty-tcnative) when present, so neither end of the measurement is
 * slower than the paths it measures.
 */
final class Net {

  static final boolean EPOLL = Epoll.isAvailable();
  static final boolean OPENSSL = OpenSsl.isAvailable();

  /** Large enough that a bulk stream is never held back by the writer's own queue. */
  static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(512 * 1024, 1024 * 1024);

  private Net() {
  }

  static EventLoopGroup group(int threads) {
    return new MultiThreadIoEventLoopGroup(threads, EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
  }

  static Class<? extends SocketChannel> socketChannel() {
    return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  static Class<? extends ServerSocketChannel> serverChannel() {
    return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  static SslProvider provider() {
    return OPENSSL ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  static String describe() {
    return (EPOLL ? "epoll" : "nio") + ", " + (OPENSSL ? OpenSsl.versionString() : "JDK TLS");
  }

  /** The backend's TLS server: TLS 1.3 and 1.2, the library's default groups and ciphers. */
  static SslContext server(File chain, File key) throws SSLException {
    return SslContextBuilder.forServer(chain, key).sslProvider(provider()).protocols("TLSv1.3", "TLSv1.2").build();
  }

  /**
   * A client that verifies the server's certificate and name against {@code trust} and never
   * resumes a session, so every connection pays a full handshake.
   */
  static SslContext client(File trust) throws SSLException {
    SslContext context = SslContextBuilder.forClient().sslProvider(provider())
        .trustManager(trust)
        .endpointIdentificationAlgorithm("HTTPS")
        .protocols("TLSv1.3", "TLSv1.2")
        .build();
    if (context.sessionContext() instanceof OpenSslSessionContext sessions) {
      sessions.setSessionCacheEnabled(false);
    } else {
      context.sessionContext().setSessionCacheSize(1);
      context.sessionContext().setSessionTimeout(1);
    }
    return context;
  }
}
