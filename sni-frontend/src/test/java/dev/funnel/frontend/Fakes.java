package dev.funnel.frontend;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.EarlyReads;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.PeekedConnection;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Promise;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake registry (answers {@link Addresses#REGISTRY_RESOLVE} from a map, deployed as its own
 * verticle) and fake in-JVM gateways {@code gw-1}, {@code gw-2} in {@link #links} (a
 * {@link GatewayLink} that dials the test backend with a Netty channel on the data plane and
 * returns it as the node's stream).
 */
final class Fakes extends AbstractVerticle {

  static final String SILENT = "silent";

  /** host → Route, a ResolveFailure, or {@link #SILENT} (never answers). Unknown hosts: NO_ROUTE. */
  final Map<String, Object> registry = new ConcurrentHashMap<>();
  final AtomicInteger resolves = new AtomicInteger();
  /** Failures the gateways answer with, in order, before they open streams again. */
  final Queue<OpenFailure> gatewayFailures = new ConcurrentLinkedQueue<>();
  final List<OpenRequest> opens = new CopyOnWriteArrayList<>();
  /** Gateways that take opens and never answer (until the frontend gives up or fails over). */
  final java.util.Set<String> silentGateways = ConcurrentHashMap.newKeySet();
  /** How long the gateways wait before opening (holds a connection in the routing state). */
  volatile long gatewayDelayMillis;

  /** Hand this to the frontend: gw-1 and gw-2 run "in this JVM". */
  final GatewayLinks links = new GatewayLinks();

  private final int backendPort;

  Fakes(int backendPort) {
    this.backendPort = backendPort;
  }

  static Future<Fakes> deploy(Vertx vertx, int backendPort) {
    Fakes fakes = new Fakes(backendPort);
    return vertx.deployVerticle(fakes).map(id -> fakes);
  }

  @Override
  public void start() {
    vertx.eventBus().<ResolveRequest>consumer(Addresses.REGISTRY_RESOLVE, message -> {
      resolves.incrementAndGet();
      ResolveRequest request = message.body();
      Object answer = registry.get(request.host());
      if (answer instanceof Route route) {
        message.reply(new Route(request.host(), request.port(), route.nodeId(), route.gatewayId(), route.epoch()));
      } else if (answer instanceof ResolveFailure failure) {
        message.reply(failure.exception("test registry says " + failure));
      } else if (answer == null) {
        message.reply(ResolveFailure.NO_ROUTE.exception("no such name"));
      }
      // SILENT: never answer; the frontend's send timeout decides
    });
    for (String gateway : List.of("gw-1", "gw-2")) {
      links.register(gateway, (request, first, loop) -> silentGateways.contains(gateway) ? silent(request, loop)
          : open(request, first.retainedDuplicate(), loop));
    }
  }

  private io.netty.util.concurrent.Future<PeekedConnection> silent(OpenRequest request, EventLoop loop) {
    opens.add(request);
    return loop.newPromise();
  }

  /** Like a gateway and its node: the client's first bytes go to the backend before the stream is handed over. */
  private io.netty.util.concurrent.Future<PeekedConnection> open(OpenRequest request, ByteBuf first, EventLoop loop) {
    opens.add(request);
    Promise<PeekedConnection> result = loop.newPromise();
    OpenFailure failure = gatewayFailures.poll();
    if (failure != null) {
      first.release();
      result.setFailure(failure.exception("test gateway says " + failure));
      return result;
    }
    loop.schedule(() -> new Bootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.channel())
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new EarlyReads())   // the frontend splices it on another loop, after a hop
        .connect("127.0.0.1", backendPort)
        .addListener((ChannelFuture connected) -> {
          if (connected.isSuccess()) {
            connected.channel().writeAndFlush(first);
            result.setSuccess(PeekedConnection.fresh(connected.channel()));
          } else {
            first.release();
            result.setFailure(OpenFailure.REFUSED.exception("backend down"));
          }
        }), Math.max(1, gatewayDelayMillis), TimeUnit.MILLISECONDS);
    return result;
  }
}
