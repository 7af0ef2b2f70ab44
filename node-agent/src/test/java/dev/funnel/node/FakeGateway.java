package dev.funnel.node;

import dev.funnel.common.peerapi.ControlFrames;
import dev.funnel.common.peerapi.ControlMessage;
import dev.funnel.common.peerapi.ControlMessage.Challenge;
import dev.funnel.common.peerapi.ControlMessage.DataHello;
import dev.funnel.common.peerapi.ControlMessage.Hello;
import dev.funnel.common.peerapi.ControlMessage.Ping;
import dev.funnel.common.peerapi.ControlMessage.Pong;
import dev.funnel.common.peerapi.ControlMessage.Refused;
import dev.funnel.common.peerapi.ControlMessage.ServeUpdate;
import dev.funnel.common.peerapi.ControlMessage.SessionLost;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import dev.funnel.common.peerapi.ControlMessage.SignRequest;
import dev.funnel.common.peerapi.ControlMessage.Welcome;
import dev.funnel.common.peerapi.FrameReader;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.net.StreamOpener;
import dev.funnel.common.peerapi.IngressOffer;
import dev.funnel.common.tls.DevCa;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * A gateway good enough to test the node against: real TLS (Netty, TLS 1.3, as the real node
 * listener) with a certificate from the development CA, Challenge → Hello (the proof is verified
 * with the node's public key) → Welcome, DataHello connections switched to HTTP/2 with this side
 * the client and collected as {@link LinkPeer}s (offers are streams opened with
 * {@link StreamOpener}), ServeUpdate answered with a Welcome.
 * State is guarded by this object's monitor; {@link #when} waits for a condition without sleeping.
 */
final class FakeGateway {

  static final String DOMAIN = "demo.funnel.localhost";

  private final Vertx vertx;
  private final DevCa ca;
  private Channel server;

  /** The id this gateway names its sessions with in Welcome (with the login's epoch). */
  final String gatewayId = "fake-" + UUID.randomUUID().toString().substring(0, 8);

  // Behaviour, set before the node connects.
  /** What Welcome asks for (the node keeps its own {@code --links} count). */
  volatile int links = 2;
  volatile long heartbeatMillis = 5_000;
  volatile Refused refuseWith;
  volatile boolean answerPings = true;
  /** What the Welcome offers ({@code Welcome.features}); none, as an older gateway, by default. */
  volatile List<String> features = List.of();

  // What happened.
  private final List<Hello> hellos = new ArrayList<>();
  private final List<Boolean> proofsValid = new ArrayList<>();
  private final List<ServeUpdate> serveUpdates = new ArrayList<>();
  private final List<SessionLost> lossReports = new ArrayList<>();
  private final List<Long> certificateExpiries = new ArrayList<>();
  private final List<Long> pongs = new ArrayList<>();
  private final List<Channel> controls = new ArrayList<>();
  private final List<LinkPeer> linkPeers = new ArrayList<>();
  private final List<String> sessionIds = new ArrayList<>();
  private final List<Watch> watches = new ArrayList<>();
  private String dataSecret;

  private record Watch(BooleanSupplier condition, Promise<Void> promise) {
  }

  FakeGateway(Vertx vertx, DevCa ca) {
    this.vertx = vertx;
    this.ca = ca;
  }

  Future<FakeGateway> listen() {
    DevCa.KeyAndChain cert = ca.issue(List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
    PemKeyCertOptions keyCert = new PemKeyCertOptions()
        .setKeyValue(Buffer.buffer(cert.keyPem()))
        .setCertValue(Buffer.buffer(cert.chainPem()));
    return vertx.executeBlocking(() -> LinkTls.server(vertx, keyCert, null)).compose(tls -> {
      Promise<FakeGateway> bound = Promise.promise();
      new ServerBootstrap()
          .group(DataPlane.group())
          .channel(DataPlane.serverChannel())
          .childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(LinkTls.serverHandler(tls, ch.alloc(), 10_000));
              ch.pipeline().addLast(new Connection(ch));
            }
          })
          .bind("127.0.0.1", 0)
          .addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
              server = f.channel();
              bound.complete(this);
            } else {
              bound.fail(f.cause());
            }
          });
      return bound.future();
    });
  }

  int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Stops listening (connections already open stay). */
  Future<Void> close() {
    if (server == null) {
      return Future.succeededFuture();
    }
    Promise<Void> closed = Promise.promise();
    server.close().addListener(f -> closed.tryComplete());
    return closed.future();
  }

  /** Completes once {@code condition} holds (checked now and after every event). */
  synchronized Future<Void> when(BooleanSupplier condition) {
    if (condition.getAsBoolean()) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    watches.add(new Watch(condition, promise));
    return promise.future();
  }

  void changed() {
    List<Watch> met = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Watch> it = watches.iterator(); it.hasNext(); ) {
        Watch w = it.next();
        if (w.condition().getAsBoolean()) {
          it.remove();
          met.add(w);
        }
      }
    }
    met.forEach(w -> w.promise().tryComplete());
  }

  synchronized List<Hello> hellos() {
    return List.copyOf(hellos);
  }

  synchronized List<Boolean> proofsValid() {
    return List.copyOf(proofsValid);
  }

  synchronized List<ServeUpdate> serveUpdates() {
    return List.copyOf(serveUpdates);
  }

  /** The notAfter of every CertificateExpiry received, in order. */
  synchronized List<Long> certificateExpiries() {
    return List.copyOf(certificateExpiries);
  }

  synchronized List<SessionLost> lossReports() {
    return List.copyOf(lossReports);
  }

  /** The epoch this gateway gave its latest session (one per login). */
  synchronized long epoch() {
    return sessionIds.size();
  }

  synchronized List<Long> pongs() {
    return List.copyOf(pongs);
  }

  synchronized int logins() {
    return sessionIds.size();
  }

  /** Every link connection that said a valid DataHello, in order. */
  synchronized List<LinkPeer> linkPeers() {
    return List.copyOf(linkPeers);
  }

  /** Link connections of the latest session that are open. */
  synchronized List<LinkPeer> links() {
    String current = sessionIds.isEmpty() ? null : sessionIds.get(sessionIds.size() - 1);
    List<LinkPeer> out = new ArrayList<>();
    for (LinkPeer p : linkPeers) {
      if (!p.closed && p.sessionId.equals(current)) {
        out.add(p);
      }
    }
    return out;
  }

  /** An ingress offer on the first open link connection of the latest session. */
  Future<OpenAnswer> offer(String target, String source) {
    return offer(new IngressOffer(HostPort.parse(source), HostPort.parse(target)).toHeaders());
  }

  Future<OpenAnswer> offer(Http2Headers head) {
    List<LinkPeer> live = links();
    if (live.isEmpty()) {
      return Future.failedFuture("no link connection");
    }
    return live.get(0).open(head);
  }

  /** Closes the latest control connection, as a gateway that died would. */
  synchronized void closeControl() {
    controls.get(controls.size() - 1).close();
  }

  synchronized void sendControl(ControlMessage message) {
    write(controls.get(controls.size() - 1), message);
  }

  private static void write(Channel channel, ControlMessage message) {
    channel.writeAndFlush(Unpooled.wrappedBuffer(message.encode().getBytes()));
  }

  /** One connection: control frames until a DataHello makes it a link connection (then HTTP/2). */
  private final class Connection extends ChannelInboundHandlerAdapter {
    private final Channel socket;
    private final FrameReader reader = new FrameReader(ControlFrames.DEFAULT_MAX_FRAME_BYTES);
    private final String nonce = UUID.randomUUID().toString();
    private boolean first = true;
    private LinkPeer link;

    Connection(Channel socket) {
      this.socket = socket;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      write(socket, new Challenge(nonce));
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf bytes = (ByteBuf) msg;
      byte[] copy = new byte[bytes.readableBytes()];
      bytes.readBytes(copy);
      bytes.release();
      List<ControlMessage> messages = new ArrayList<>();
      try {
        if (first) {
          ControlMessage m = reader.next(Buffer.buffer(copy));
          if (m == null) {
            return;
          }
          first = false;
          messages.add(m);
          if (!(m instanceof DataHello)) {
            messages.addAll(reader.feed(Buffer.buffer()));
          }
        } else {
          messages.addAll(reader.feed(Buffer.buffer(copy)));
        }
      } catch (ControlMessage.InvalidMessage e) {
        socket.close();
        return;
      }
      for (ControlMessage m : messages) {
        if (m instanceof DataHello hello) {
          onDataHello(ctx, hello);
          return;
        }
        onMessage(m);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      changed();
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    private void onDataHello(ChannelHandlerContext ctx, DataHello hello) {
      synchronized (FakeGateway.this) {
        if (!sessionIds.contains(hello.sessionId()) || !hello.dataSecret().equals(dataSecret)) {
          socket.close();
          return;
        }
      }
      Buffer leftover = reader.remainder();
      ChannelPipeline pipeline = ctx.pipeline();
      pipeline.remove(this);
      pipeline.addLast(Links.CODEC, Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 1000)));
      pipeline.addLast(new Http2MultiplexHandler(new RefuseStreams()));
      Links.raiseConnectionWindow(socket, Links.DEFAULT_CONNECTION_WINDOW_BYTES);
      // Visible to offers only once streams can be opened on it.
      synchronized (FakeGateway.this) {
        link = new LinkPeer(FakeGateway.this, socket, hello.sessionId());
        linkPeers.add(link);
      }
      LinkPeer peer = link;
      socket.closeFuture().addListener(f -> {
        peer.closed = true;
        changed();
      });
      if (leftover.length() > 0) {
        pipeline.context(SslHandler.class).fireChannelRead(Unpooled.wrappedBuffer(leftover.getBytes()));
        pipeline.context(SslHandler.class).fireChannelReadComplete();
      }
      changed();
    }

    void onMessage(ControlMessage m) {
      synchronized (FakeGateway.this) {
        if (m instanceof Hello hello) {
          hellos.add(hello);
          boolean valid = verify(hello);
          proofsValid.add(valid);
          controls.add(socket);
          if (!valid) {
            socket.writeAndFlush(Unpooled.wrappedBuffer(new Refused("BAD_NODE_KEY", "proof does not verify").encode()
                .getBytes())).addListener(f -> socket.close());
          } else if (refuseWith != null) {
            socket.writeAndFlush(Unpooled.wrappedBuffer(refuseWith.encode().getBytes()))
                .addListener(f -> socket.close());
          } else {
            String sessionId = "session-" + (sessionIds.size() + 1);
            sessionIds.add(sessionId);
            dataSecret = UUID.randomUUID().toString();
            write(socket, welcome(hello.hostname(), hello.ports()));
          }
        } else if (m instanceof DataHello) {
          socket.close();
        } else if (m instanceof Ping ping) {
          if (answerPings) {
            write(socket, new Pong(ping.seq()));
          }
        } else if (m instanceof Pong pong) {
          pongs.add(pong.seq());
        } else if (m instanceof SignRequest request) {
          String fqdn = hellos.get(hellos.size() - 1).hostname() + "." + DOMAIN;
          try {
            write(socket, new SignReply(ca.signRequest(request.csrPem(), Set.of(fqdn), Duration.ofDays(1)), null));
          } catch (IllegalArgumentException e) {
            write(socket, new SignReply(null, e.getMessage()));
          }
        } else if (m instanceof SessionLost lost) {
          lossReports.add(lost);
        } else if (m instanceof ControlMessage.CertificateExpiry expiry) {
          certificateExpiries.add(expiry.notAfter());
        } else if (m instanceof ServeUpdate update) {
          serveUpdates.add(update);
          String hostname = hellos.get(hellos.size() - 1).hostname();
          write(socket, welcome(hostname, update.ports()));
        }
      }
      changed();
    }

    private Welcome welcome(String hostname, List<Integer> ports) {
      return new Welcome(sessionIds.get(sessionIds.size() - 1), "node-" + hostname, hostname + "." + DOMAIN,
          dataSecret, heartbeatMillis, links, ports, gatewayId, sessionIds.size(), features);
    }

    private boolean verify(Hello hello) {
      try {
        PublicKey key = KeyFactory.getInstance("EC")
            .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(hello.nodePublicKey())));
        Signature signature = Signature.getInstance("SHA256withECDSA");
        signature.initVerify(key);
        signature.update(nonce.getBytes(StandardCharsets.UTF_8));
        return signature.verify(Base64.getDecoder().decode(hello.proof()));
      } catch (Exception e) {
        return false;
      }
    }
  }

  /** A node never opens streams on a link: any it tries is closed. */
  @io.netty.channel.ChannelHandler.Sharable
  private static final class RefuseStreams extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRegistered(ChannelHandlerContext ctx) {
      ctx.close();
    }
  }

  /** A link connection that said DataHello: HTTP/2, this gateway the client. */
  static final class LinkPeer {
    private final FakeGateway gateway;
    final Channel channel;
    final String sessionId;
    volatile boolean closed;

    LinkPeer(FakeGateway gateway, Channel channel, String sessionId) {
      this.gateway = gateway;
      this.channel = channel;
      this.sessionId = sessionId;
    }

    /** Opens one stream with {@code head}; the node's answer. */
    Future<OpenAnswer> open(Http2Headers head) {
      Promise<OpenAnswer> answer = Promise.promise();
      channel.eventLoop().execute(() -> StreamOpener.open(channel, head, 5_000).addListener(f -> {
        if (f.isSuccess()) {
          answer.complete((OpenAnswer) f.getNow());
        } else {
          answer.fail(f.cause());
        }
      }));
      return answer.future();
    }

    Future<Void> whenClosed() {
      return gateway.when(() -> closed);
    }
  }
}
