package dev.funnel.frontend;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.DataPlane;
import dev.funnel.common.net.GatewayLink;
import dev.funnel.common.net.GatewayLinks;
import dev.funnel.common.net.LinkStreams;
import dev.funnel.common.net.Links;
import dev.funnel.common.net.OpenAnswer;
import dev.funnel.common.peerapi.OpenStream;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
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
 * {@link GatewayLink} that opens a stream on a plaintext link connection to a {@link LinkGateway},
 * which dials the test backend and splices; the node's stream handed to the frontend is that
 * stream's {@code LinkStreams.End}, as from the real gateway).
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

  /** The nodes behind gw-1 and gw-2, and the one link connection to them. */
  private final LinkGateway node;
  private final Channel link;

  Fakes(int backendPort) {
    try {
      node = new LinkGateway(null, backendPort);
      link = dial(node);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
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

  private io.netty.util.concurrent.Future<LinkStreams.End> silent(OpenRequest request, EventLoop loop) {
    opens.add(request);
    return loop.newPromise();
  }

  /**
   * Like a gateway and its node: the open goes as a stream on a link connection to {@link #node},
   * the client's first bytes with it, and the node's side writes them to the backend first.
   */
  private io.netty.util.concurrent.Future<LinkStreams.End> open(OpenRequest request, ByteBuf first, EventLoop loop) {
    opens.add(request);
    Promise<LinkStreams.End> result = loop.newPromise();
    OpenFailure failure = gatewayFailures.poll();
    if (failure != null) {
      first.release();
      result.setFailure(failure.exception("test gateway says " + failure));
      return result;
    }
    loop.schedule(() -> LinkStreams.open(link, OpenStream.toHeaders(request), first, 5_000).addListener(done -> {
      if (!done.isSuccess()) {
        result.setFailure(done.cause());
      } else if (done.getNow() instanceof OpenAnswer.Accepted<?> accepted) {
        result.setSuccess((LinkStreams.End) accepted.stream());
      } else {
        result.setFailure(OpenFailure.REFUSED.exception("backend down"));
      }
    }), Math.max(1, gatewayDelayMillis), TimeUnit.MILLISECONDS);
    return result;
  }

  @Override
  public void stop() {
    link.close();
    node.close();
  }

  /** A plaintext HTTP/2 link connection to {@code node}, this side opening streams as a gateway does. */
  private static Channel dial(LinkGateway node) throws InterruptedException {
    return new Bootstrap()
        .group(DataPlane.group())
        .channel(DataPlane.channel())
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(Links.CODEC, Links.clientCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES,
                Links.DEFAULT_MAX_CONCURRENT_STREAMS)));
            ch.pipeline().addLast(LinkStreams.NAME, LinkStreams.refusingInbound());
          }
        })
        .connect("127.0.0.1", node.port()).sync().channel();
  }
}
