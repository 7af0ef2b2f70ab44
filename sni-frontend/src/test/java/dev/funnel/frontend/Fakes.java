package dev.funnel.frontend;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.OpenFailure;
import dev.funnel.common.bus.OpenReply;
import dev.funnel.common.bus.OpenRequest;
import dev.funnel.common.bus.ResolveFailure;
import dev.funnel.common.bus.ResolveRequest;
import dev.funnel.common.bus.Route;
import dev.funnel.common.net.LocalStreams;
import dev.funnel.common.net.Tunnel;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake registry (answers {@link Addresses#REGISTRY_RESOLVE} from a map) and fake gateways
 * {@code gw-1}, {@code gw-2} (connect to the test backend, pause, park in {@link LocalStreams},
 * reply {@link OpenReply#local}), deployed as their own verticle, so on their own event loop when
 * Vert.x has more than one.
 */
final class Fakes extends AbstractVerticle {

  static final String SILENT = "silent";

  /** host → Route, a ResolveFailure, or {@link #SILENT} (never answers). Unknown hosts: NO_ROUTE. */
  final Map<String, Object> registry = new ConcurrentHashMap<>();
  final AtomicInteger resolves = new AtomicInteger();
  /** Failures the gateways answer with, in order, before they open streams again. */
  final Queue<OpenFailure> gatewayFailures = new ConcurrentLinkedQueue<>();
  final List<OpenRequest> opens = new CopyOnWriteArrayList<>();
  /** How long the gateways wait before opening (holds a connection in the routing state). */
  volatile long gatewayDelayMillis;

  private final int backendPort;
  private NetClient client;

  Fakes(int backendPort) {
    this.backendPort = backendPort;
  }

  static Future<Fakes> deploy(Vertx vertx, int backendPort) {
    Fakes fakes = new Fakes(backendPort);
    return vertx.deployVerticle(fakes).map(id -> fakes);
  }

  @Override
  public void start() {
    client = vertx.createNetClient();
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
      vertx.eventBus().<OpenRequest>consumer(Addresses.gatewayOpen(gateway), message -> {
        opens.add(message.body());
        OpenFailure failure = gatewayFailures.poll();
        if (failure != null) {
          message.reply(failure.exception("test gateway says " + failure));
          return;
        }
        vertx.setTimer(Math.max(1, gatewayDelayMillis), id -> client.connect(backendPort, "127.0.0.1")
            .onComplete(connected -> {
              if (connected.failed()) {
                message.reply(OpenFailure.REFUSED.exception("backend down"));
                return;
              }
              Tunnel.prepare(connected.result());
              connected.result().pause();
              String ticket = LocalStreams.park(vertx, connected.result(), Buffer.buffer(), 5000);
              message.reply(OpenReply.local(ticket));
            }));
      });
    }
  }
}
