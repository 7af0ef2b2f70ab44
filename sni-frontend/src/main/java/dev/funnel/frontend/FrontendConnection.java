package dev.funnel.frontend;

import dev.funnel.common.Hostnames;
import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.tls.ClientHello;
import static java.lang.System.Logger.Level.DEBUG;
import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Route;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.Pacer;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.PeekedConnection;
import dev.funnel.common.net.StreamSplice;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.tls.ClientHello.Found;
import dev.funnel.common.tls.ClientHello.Malformed;
import dev.funnel.common.tls.ClientHello.NeedMore;
import dev.funnel.common.tls.ClientHello.NoSni;
import dev.funnel.common.tls.ClientHello.NotTls;
import dev.funnel.frontend.FrontendMetrics.Outcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One public connection, from accept to hand-off, as the handler of its channel: read the
 * ClientHello (peek, never consume), route its name ({@link Routing}), then {@link StreamSplice} the
 * client and the node's stream with every byte read so far sent first. Every refusal is one log
 * line with its reason, one metric with the same reason as a bounded label, and (for TLS clients)
 * one fatal alert.
 *
 * <p>The channel's AUTO_READ is off: this handler asks for each read while the hello is
 * incomplete and none while routing, so whatever the client sends meanwhile (early data, its FIN)
 * waits in the kernel; what a read already in flight brings is kept with the hello bytes. All
 * state is touched on the channel's loop only; routing results hop back onto it.
 */
final class FrontendConnection extends ChannelInboundHandlerAdapter {

  private static final System.Logger LOG = System.getLogger(FrontendConnection.class.getName());

  /**
   * What every connection shares: an immutable view of the options, the cache, the meters, the
   * links, and the budget of log lines for refused connections (each is counted in the metrics and
   * the access log; the log gets at most {@link LogLimit#DEFAULT_PER_SECOND} such lines a second),
   * and how many of this frontend's tunnels have not ended yet ({@code spliced}: a drain that closes
   * the connections waits for it to reach 0, so their access lines are written before the process exits).
   */
  record Shared(Vertx vertx, FrontendOptions options, String domain, RouteCache routes, FrontendMetrics metrics,
                GoneGateways gone, TailnetShaper shaper, Function<String, GatewayLink> links, AliasTable aliases,
                LogLimit refusals, AtomicInteger spliced) {

    Shared(Vertx vertx, FrontendOptions options, String domain, RouteCache routes, FrontendMetrics metrics,
           GoneGateways gone, TailnetShaper shaper, Function<String, GatewayLink> links, AliasTable aliases,
           AtomicInteger spliced) {
      this(vertx, options, domain, routes, metrics, gone, shaper, links, aliases, new LogLimit(), spliced);
    }

    Shared(Vertx vertx, FrontendOptions options, String domain, RouteCache routes, FrontendMetrics metrics,
           GoneGateways gone, TailnetShaper shaper, Function<String, GatewayLink> links, AliasTable aliases) {
      this(vertx, options, domain, routes, metrics, gone, shaper, links, aliases, new AtomicInteger());
    }

    /** Without custom domains. */
    Shared(Vertx vertx, FrontendOptions options, String domain, RouteCache routes, FrontendMetrics metrics,
           GoneGateways gone, TailnetShaper shaper, Function<String, GatewayLink> links) {
      this(vertx, options, domain, routes, metrics, gone, shaper, links, new AliasTable());
    }

    /** The gateway {@code gatewayId}: in this JVM when it runs here, else over the network. */
    GatewayLink link(String gatewayId) {
      return links.apply(gatewayId);
    }
  }

  private enum State {
    /** Reading the ClientHello, under the deadline and the size cap. */
    READING,
    /** Hello complete, reads stopped; resolving and opening. */
    ROUTING,
    /** Handed to {@link StreamSplice}; this class only writes the access log when it ends. */
    SPLICED,
    /** Refused or gone. */
    DONE
  }

  private final Shared shared;
  private final FrontendOptions options;
  private final int publicPort;
  private final AccessLog access;
  private final long acceptedNanos = System.nanoTime();

  private Channel channel;
  private String client = "unknown";
  /** Every byte read from the client so far, exactly as received: the node gets these first. */
  private ByteBuf received;
  /**
   * How many bytes went to the node with the open (the ClientHello, handed to {@link Routing}, which
   * owns them from then on; {@link #received} starts again empty, so no other thread ever reads a
   * buffer this loop still writes to).
   */
  private int sentWithOpen;
  private State state = State.READING;
  private boolean inputEnded;
  private int parseAt = 1;
  private ScheduledFuture<?> helloTimer;
  private long helloNanos;
  /** The name the client asked for, for the access log: the routable host, or the raw name (at most 255 chars). */
  private String sni;
  private Routing routing;

  FrontendConnection(Shared shared, int publicPort) {
    this.shared = shared;
    this.options = shared.options();
    this.publicPort = publicPort;
    this.access = new AccessLog(options.isAccessLog(), publicPort);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    client = address(channel.remoteAddress());
    received = ctx.alloc().heapBuffer(512);
    helloTimer = ctx.executor().schedule(this::onHelloTimeout, options.getHelloTimeoutMillis(), TimeUnit.MILLISECONDS);
    ctx.read();
    ctx.fireChannelActive();
  }

  // --- reading the hello ------------------------------------------------------------------------

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf chunk) || (state != State.READING && state != State.ROUTING)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    received.writeBytes(chunk);   // a read in flight when the hello completed: kept, in order, for the node
    chunk.release();
    if (state == State.READING && received.readableBytes() >= parseAt) {
      decide(ClientHello.parse(received, options.getMaxHelloBytes()));
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (state == State.READING) {
      ctx.read();
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      if (state == State.READING) {
        close(Outcome.CLIENT_CLOSED, "ended its input before a whole ClientHello (" + received.readableBytes()
            + " bytes)");
      } else if (state == State.ROUTING) {
        inputEnded = true;   // carried to the node after the bytes (StreamSplice passes it on)
      }
    }
    ctx.fireUserEventTriggered(evt);
  }

  private void decide(ClientHello.Result result) {
    if (result instanceof NeedMore needMore) {
      parseAt = needMore.atLeast();
      return;
    }
    cancelHelloTimer();
    helloNanos = System.nanoTime();
    if (result instanceof NotTls) {
      close(Outcome.NOT_TLS, "not a TLS handshake");
    } else if (result instanceof Malformed malformed) {
      refuse(TlsAlert.HANDSHAKE_FAILURE, Outcome.BAD_HELLO, "malformed ClientHello: " + malformed.reason());
    } else if (result instanceof NoSni noSni) {
      shared.metrics().helloBytes(noSni.helloLength());
      refuse(TlsAlert.HANDSHAKE_FAILURE, Outcome.NO_SNI, "ClientHello without server_name");
    } else if (result instanceof Found found) {
      shared.metrics().helloBytes(found.helloLength());
      onHello(found.serverName());
    }
  }

  private void onHelloTimeout() {
    if (state == State.READING) {
      close(Outcome.HELLO_TIMEOUT, "no whole ClientHello within " + options.getHelloTimeoutMillis() + " ms ("
          + received.readableBytes() + " bytes)");
    }
  }

  // --- routing ------------------------------------------------------------------------------------

  private void onHello(String serverName) {
    Optional<String> name = ServerNames.routable(serverName, shared.domain());
    // A verified custom domain routes to its node; the node is offered the alias itself.
    Optional<String> alias = name.isPresent() ? Optional.empty() : shared.aliases().target(serverName);
    String offered = alias.isPresent() ? Hostnames.normalise(serverName).orElseThrow() : name.orElse(null);
    sni = offered != null ? offered : serverName.substring(0, Math.min(serverName.length(), 255));
    if (name.isEmpty() && alias.isEmpty()) {
      refuse(TlsAlert.UNRECOGNIZED_NAME, Outcome.BAD_NAME,
          "server name " + ServerNames.forLog(serverName) + " is not NODE.TAILNET." + shared.domain()
              + " nor a verified alias");
      return;
    }
    String host = name.orElseGet(alias::get);
    state = State.ROUTING;
    routing = new Routing(shared, host, offered, publicPort, client, channel.eventLoop());
    sentWithOpen = received.readableBytes();
    ByteBuf hello = received;
    received = channel.alloc().heapBuffer(0);
    routing.start(hello).onComplete(opened -> channel.eventLoop().execute(() -> {
      if (opened.succeeded()) {
        splice(host, opened.result());
      } else {
        refuse(opened.cause());
      }
    }));
  }

  // --- hand-off -----------------------------------------------------------------------------------

  private void splice(String host, Routing.Opened opened) {
    LinkStreams.End node = opened.node();
    if (state != State.ROUTING) {
      node.abandon();  // the client left while we were opening
      return;
    }
    state = State.SPLICED;
    channel.pipeline().remove(this);   // from here on the splice reads this channel
    routing = null;   // this object lives as long as the tunnel (its access line): keep only what that needs
    long setupNanos = System.nanoTime() - helloNanos;
    FrontendMetrics metrics = shared.metrics();
    metrics.setup(setupNanos);
    metrics.connection(publicPort, Outcome.ROUTED);
    metrics.tunnelOpened();
    Route used = opened.route();
    Pacer[] paced = shared.shaper().pacers(tailnet(host));
    // The hello went with the open; what came after it (a read in flight) is the node's next.
    ByteBuf rest = received;
    received = null;
    long sent = sentWithOpen;
    metrics.inbound(sent);
    PeekedConnection peeked = new PeekedConnection(channel, rest, inputEnded);
    shared.spliced().incrementAndGet();
    Future<StreamSplice.Stats> tunnel = StreamSplice.start(peeked, node, metrics::inbound, metrics::outbound, paced[0],
        paced[1]);
    tunnel.addListener(done -> {
      StreamSplice.Stats stats = done.isSuccess() ? (StreamSplice.Stats) done.getNow() : new StreamSplice.Stats(0, 0);
      metrics.tunnelClosed();
      access.line(Outcome.ROUTED, null, sni, client, used, setupNanos, sent + stats.aToB(), stats.bToA(),
          acceptedNanos);
      shared.spliced().decrementAndGet();
    });
  }

  // --- refusing -----------------------------------------------------------------------------------

  private void refuse(Throwable failure) {
    if (failure instanceof Refusal refusal) {
      refuse(refusal.alert, refusal.outcome, refusal.getMessage());
    } else {
      refuse(TlsAlert.INTERNAL_ERROR, Outcome.NODE_UNREACHABLE, "unexpected failure: " + failure);
    }
  }

  /** Sends a fatal alert, then closes once it is written. */
  private void refuse(TlsAlert alert, Outcome outcome, String reason) {
    byte[] record = alert.record();
    if (finish(outcome, reason, "; rejecting with " + alert.name().toLowerCase(Locale.ROOT), record.length)) {
      channel.writeAndFlush(alert.buffer()).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** Closes without a word (not TLS, or too slow to say anything). */
  private void close(Outcome outcome, String reason) {
    if (finish(outcome, reason, "; closing", 0)) {
      channel.close();
    }
  }

  /** Marks the connection done, once: the metric, the one log line and the access-log line. False if it already was. */
  private boolean finish(Outcome outcome, String reason, String action, int bytesOut) {
    if (state == State.DONE || state == State.SPLICED) {
      return false;
    }
    state = State.DONE;
    cancelHelloTimer();
    shared.metrics().connection(publicPort, outcome);
    shared.refusals().log(LOG, INFO, "refused connections", () -> client + " on :" + publicPort + ": " + reason + action);
    access.line(outcome, reason, sni, client, route(), -1, sentWithOpen + received.readableBytes(), bytesOut,
        acceptedNanos);
    release();
    return true;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (state == State.READING || state == State.ROUTING) {
      String when = state == State.READING ? "before a whole ClientHello" : "while its route was opened";
      state = State.DONE;
      cancelHelloTimer();
      shared.metrics().connection(publicPort, Outcome.CLIENT_CLOSED);
      LOG.log(DEBUG, "{0} on :{1}: client closed {2}", client, publicPort, when);
      access.line(Outcome.CLIENT_CLOSED, "client closed " + when, sni, client, route(), -1,
          sentWithOpen + received.readableBytes(), 0, acceptedNanos);
    }
    release();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.log(DEBUG, "{0} on :{1}: {2}", client, publicPort, cause.toString());
    ctx.close();
  }

  private void cancelHelloTimer() {
    if (helloTimer != null) {
      helloTimer.cancel(false);
      helloTimer = null;
    }
  }

  private void release() {
    if (received != null) {
      received.release();
      received = null;
    }
  }

  private Route route() {
    return routing == null ? null : routing.route();
  }

  /** See {@link AccessLog#logfmt}. */
  static String logfmt(String value) {
    return AccessLog.logfmt(value);
  }

  /** The TAILNET of a routable {@code NODE.TAILNET.DOMAIN} name. */
  private static String tailnet(String routableHost) {
    String[] labels = routableHost.split("\\.", 3);
    return labels.length > 1 ? labels[1] : routableHost;
  }

  private static String address(SocketAddress remote) {
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return new HostPort(inet.getAddress().getHostAddress(), inet.getPort()).toString();
    }
    return "unknown";
  }
}
