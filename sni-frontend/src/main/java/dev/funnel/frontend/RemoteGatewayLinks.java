package dev.funnel.frontend;

import static java.lang.System.Logger.Level.INFO;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.HostPort;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.LinkTls;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.OffLoopResolver;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.options.FrontendOptions;
import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.OpenStream;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The gateways in other processes, as {@link GatewayLink}s: per gateway, at most
 * {@link FrontendOptions#getLinksPerGateway()} HTTP/2 connections over mutual TLS (this frontend
 * the client, its certificate from the cluster CA), dialled lazily on the first open that needs
 * one, at the address the gateway answers on {@link Addresses#gatewayLink} (asked on the event bus
 * at each dial). The address request, the TCP connect and the TLS handshake together are bounded by
 * {@link FrontendOptions#getLinkDialTimeoutMillis()}. A connection that closes is forgotten at
 * once, so the next open dials again; a PING keepalive finds a silent one.
 *
 * <p>Each open is one stream ({@link OpenStream}): {@code 200} is the node's stream; a refusal
 * naming an {@code OpenFailure} fails with that code ({@code failure.exception(reason)}); anything
 * else (no failure header, no answer, the connection gone, no connection at all) fails uncoded,
 * which the caller reads as "gateway unreachable" (it resolves again and tries once more). A
 * connection found closing is replaced by a fresh dial rather than used.
 *
 * <p>Thread-safe: the slots are guarded by the instance's lock; opens run on any loop.
 */
final class RemoteGatewayLinks {

  private static final System.Logger LOG = System.getLogger(RemoteGatewayLinks.class.getName());

  private final Vertx vertx;
  private final SslContext tls;
  private final int linksPerGateway;
  private final long dialTimeoutMillis;
  private final long openTimeoutMillis;
  /** gateway id → its connection slots: null (empty), or a connection dialling or up. */
  private final Map<String, Pool> pools = new HashMap<>();
  private boolean closed;

  RemoteGatewayLinks(Vertx vertx, FrontendOptions options, SslContext tls) {
    this.vertx = vertx;
    this.tls = tls;
    this.linksPerGateway = Math.max(1, options.getLinksPerGateway());
    this.dialTimeoutMillis = Math.max(1, options.getLinkDialTimeoutMillis());
    this.openTimeoutMillis = Math.max(1, options.getOpenTimeoutMillis());
  }

  /** Gateway {@code gatewayId} as a link (cheap; the connections are shared by every caller). */
  GatewayLink link(String gatewayId) {
    return (request, first, loop) -> open(gatewayId, request, first, loop);
  }

  /** Closes every connection; opens after this fail. */
  void close() {
    List<Future<Channel>> all = new ArrayList<>();
    synchronized (this) {
      closed = true;
      for (Pool pool : pools.values()) {
        pool.slots.stream().filter(s -> s != null).forEach(all::add);
      }
      pools.clear();
    }
    for (Future<Channel> connection : all) {
      connection.addListener(f -> {
        if (f.isSuccess()) {
          ((Channel) f.getNow()).close();
        }
      });
    }
  }

  Future<LinkStreams.End> open(String gatewayId, OpenRequest request, ByteBuf first, EventLoop loop) {
    Promise<LinkStreams.End> result = loop.newPromise();
    ByteBuf early = first.retainedDuplicate();   // goes with the open (GatewayLink: not the caller's)
    connection(gatewayId, loop).addListener(dialled -> {
      if (!dialled.isSuccess()) {
        early.release();
        result.tryFailure(new IllegalStateException("no link connection to gateway " + gatewayId + ": "
            + reason(dialled.cause())));
        return;
      }
      Channel connection = (Channel) dialled.getNow();
      LinkStreams.open(connection, OpenStream.toHeaders(request), early, openTimeoutMillis).addListener(done -> {
        if (!done.isSuccess()) {
          result.tryFailure(new IllegalStateException("gateway " + gatewayId + " did not answer the open: "
              + reason(done.cause())));
          return;
        }
        OpenAnswer answer = (OpenAnswer) done.getNow();
        if (answer instanceof OpenAnswer.Accepted<?> accepted) {
          LinkStreams.End stream = (LinkStreams.End) accepted.stream();
          if (!result.trySuccess(stream)) {
            stream.abandon();
          }
        } else if (answer instanceof OpenAnswer.Refused refused) {
          String why = IngressAnswer.reason(refused.headers());
          result.tryFailure(OpenStream.failure(refused.headers())
              .<Throwable>map(failure -> failure.exception(why))
              .orElseGet(() -> new IllegalStateException("gateway " + gatewayId + " answered "
                  + refused.status() + " without a failure code (" + why + ")")));
        }
      });
    });
    return result;
  }

  /**
   * A connection to {@code gatewayId}: one that is up on {@code loop} (the client's: the splice then
   * needs no hop between threads), else the slots in turn; an empty slot dials, on the client's loop
   * unless another slot is on it already ({@link #dialLoop}).
   */
  private Future<Channel> connection(String gatewayId, EventLoop clientLoop) {
    EventLoop loop = DataPlane.own(clientLoop);
    EventLoop dialOn;
    Promise<Channel> dial;
    synchronized (this) {
      if (closed) {
        return GlobalEventExecutor.INSTANCE.newFailedFuture(new IllegalStateException("the frontend is stopping"));
      }
      Pool pool = pools.computeIfAbsent(gatewayId, id -> new Pool(linksPerGateway));
      for (int i = 0; i < linksPerGateway; i++) {
        Future<Channel> slot = pool.slots.get(i);
        if (pool.loops.get(i) == loop && slot.isSuccess() && ((Channel) slot.getNow()).isActive()) {
          return slot;
        }
      }
      int index = pool.next;
      pool.next = (pool.next + 1) % linksPerGateway;
      Future<Channel> slot = pool.slots.get(index);
      if (slot != null && !(slot.isSuccess() && !((Channel) slot.getNow()).isActive())) {
        return slot;   // up, or dialling; one that is closing is replaced at once (its close listener may not have run)
      }
      List<EventLoop> taken = new ArrayList<>(pool.loops);   // the other slots' (null: empty)
      taken.set(index, null);
      dialOn = dialLoop(loop, taken, DataPlane.group());
      dial = dialOn.newPromise();
      pool.slots.set(index, dial);
      pool.loops.set(index, dialOn);
      dial.addListener(f -> {
        if (!f.isSuccess()) {
          forget(gatewayId, index, dial);
        } else {
          ((Channel) f.getNow()).closeFuture().addListener(c -> {
            LOG.log(INFO, "link connection to gateway {0} closed", gatewayId);
            forget(gatewayId, index, dial);
          });
        }
      });
    }
    dial(gatewayId, dial, dialOn);
    return dial;
  }

  /**
   * The loop a new link connection is dialled on: the client's, unless another of the gateway's
   * slots is on it (up or dialling) — then a data-plane loop no slot is on, so that opens that come
   * at once from one loop do not put every link, and all its TLS, on that loop; the client's when
   * every loop has one.
   */
  static EventLoop dialLoop(EventLoop client, List<EventLoop> taken, Iterable<? extends EventExecutor> loops) {
    if (!taken.contains(client)) {
      return client;
    }
    for (EventExecutor loop : loops) {
      if (loop instanceof EventLoop l && !taken.contains(l)) {
        return l;
      }
    }
    return client;
  }

  private synchronized void forget(String gatewayId, int index, Future<Channel> connection) {
    Pool pool = pools.get(gatewayId);
    if (pool != null && pool.slots.get(index) == connection) {
      pool.slots.set(index, null);
      pool.loops.set(index, null);
      if (pool.slots.stream().allMatch(slot -> slot == null)) {
        pools.remove(gatewayId);   // a gateway that went away leaves nothing behind
      }
    }
  }

  /** Asks where the gateway's link listens, then connects, handshakes and speaks HTTP/2; all within the dial timeout. */
  private void dial(String gatewayId, Promise<Channel> dial, EventLoop loop) {
    long started = System.nanoTime();
    ScheduledFuture<?> deadline = DataPlane.group().schedule(() -> {
      dial.tryFailure(new IllegalStateException("not up within " + dialTimeoutMillis + " ms"));
    }, dialTimeoutMillis, TimeUnit.MILLISECONDS);
    dial.addListener(f -> deadline.cancel(false));
    vertx.eventBus().<String>request(Addresses.gatewayLink(gatewayId), "",
            new DeliveryOptions().setSendTimeout(dialTimeoutMillis))
        .onComplete(asked -> {
          if (asked.failed()) {
            dial.tryFailure(new IllegalStateException("no link address (" + asked.cause().getMessage() + ")"));
            return;
          }
          HostPort address;
          try {
            address = HostPort.parse(asked.result().body());
          } catch (RuntimeException e) {
            dial.tryFailure(new IllegalStateException("bad link address " + asked.result().body()));
            return;
          }
          long left = dialTimeoutMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
          connect(gatewayId, address, Math.max(1, left), dial, loop);
        });
  }

  private void connect(String gatewayId, HostPort address, long timeoutMillis, Promise<Channel> dial, EventLoop loop) {
    ChannelFuture connecting = new Bootstrap()
        .group(loop)
        .channel(DataPlane.channel())
        .resolver(OffLoopResolver.INSTANCE)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMillis))
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            // The gateway's certificate is checked against the cluster CA; its name is not (an IP, often).
            ch.pipeline().addLast(LinkTls.clientHandler(tls, ch.alloc(), address.host(), address.port(), false,
                timeoutMillis));
          }
        })
        .connect(address.host(), address.port());
    dial.addListener(f -> {
      if (!f.isSuccess()) {
        connecting.channel().close();
      }
    });
    connecting.addListener((ChannelFuture connected) -> {
      if (!connected.isSuccess()) {
        dial.tryFailure(new IllegalStateException("cannot connect to " + address + ": " + reason(connected.cause())));
        return;
      }
      Channel channel = connected.channel();
      channel.pipeline().get(SslHandler.class).handshakeFuture().addListener(shaken -> {
        if (!shaken.isSuccess()) {
          dial.tryFailure(new IllegalStateException("TLS with " + address + " failed: " + reason(shaken.cause())));
          channel.close();
          return;
        }
        channel.pipeline().addLast(Links.FLUSH, Links.flushConsolidation());
        channel.pipeline().addLast(Links.KEEPALIVE, Links.keepalive(Links.DEFAULT_PING_INTERVAL_MILLIS,
            Links.DEFAULT_DEAD_AFTER_MILLIS,
            () -> LOG.log(INFO, "link connection to gateway {0} went silent; closing it", gatewayId)));
        channel.pipeline().addLast(Links.CODEC, Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES,
            Links.DEFAULT_MAX_CONCURRENT_STREAMS)));
        // A gateway never opens streams towards a frontend; the frontend's own are relayed frame by
        // frame (StreamSplice), with no child channel per tunnel.
        channel.pipeline().addLast(LinkStreams.NAME, LinkStreams.refusingInbound());
        Links.raiseConnectionWindow(channel, Links.DEFAULT_CONNECTION_WINDOW_BYTES);
        if (dial.trySuccess(channel)) {
          LOG.log(INFO, "link connection to gateway {0} at {1} up", gatewayId, address);
        } else {
          channel.close();
        }
      });
    });
  }

  private static String reason(Throwable cause) {
    return cause == null ? "unknown" : cause.getMessage() == null ? cause.toString() : cause.getMessage();
  }

  /** One gateway's connection slots, taken in turn. */
  private static final class Pool {
    final List<Future<Channel>> slots = new ArrayList<>();
    /** The loop each slot's connection is on; null exactly when the slot is. */
    final List<EventLoop> loops = new ArrayList<>();
    int next;

    Pool(int size) {
      for (int i = 0; i < size; i++) {
        slots.add(null);
        loops.add(null);
      }
    }
  }
}
