package dev.funnel.terminator;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.ServeTarget;
import dev.funnel.common.serve.ServePort;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One terminator instance's listeners, all on that instance's event loop: per public port an HTTP
 * server with its {@link HttpPort}, or a TCP server with its {@link TcpForwarder}; and what acts on
 * all of them (a certificate swap, the clean stop's shutdown, close). {@link TerminatorVerticle}
 * decides which ports and where; this class binds them. The static methods act on every event
 * loop's listeners of one terminator, each on its own loop.
 */
final class PortListeners {

  /** sockaddr_un's sun_path holds 108 bytes on Linux, the terminating NUL included; some systems 104. */
  static final int MAX_SOCKET_PATH_BYTES = 100;

  private final Vertx vertx;
  private final Context loop;
  private final TerminatorOptions options;
  private final TerminatorMetrics metrics;
  private final SSLEngineOptions engine;
  /** Gate state common to the event loops and kept across changes ({@code GateContext.shared}). */
  private final ConcurrentMap<String, Object> gateState;
  private final List<HttpServer> httpServers = new ArrayList<>();
  private final List<NetServer> netServers = new ArrayList<>();
  /** Public port → its router holder. */
  private final Map<Integer, HttpPort> httpPorts = new LinkedHashMap<>();
  private final List<TcpForwarder> tcpForwarders = new ArrayList<>();

  PortListeners(Vertx vertx, Context loop, TerminatorOptions options, TerminatorMetrics metrics,
      SSLEngineOptions engine, ConcurrentMap<String, Object> gateState) {
    this.vertx = vertx;
    this.loop = loop;
    this.options = options;
    this.metrics = metrics;
    this.engine = engine;
    this.gateState = gateState;
  }

  /**
   * The socket for {@code publicPort} under {@code dir} ({@code listenPort}, negative, makes it unique
   * in the process; replicas share it), or null for TCP: no directory, or a path too long for a
   * socket address.
   */
  static Path socketPath(Path dir, int publicPort, int listenPort) {
    if (dir == null) {
      return null;
    }
    Path path = dir.toAbsolutePath().resolve("terminator-" + publicPort + "-" + (-listenPort) + ".sock");
    return path.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH_BYTES ? path : null;
  }

  /**
   * An HTTP port serving {@code config}: listens on {@code socket}, or when it is null on TCP
   * {@code listenPort} (negative: shared, random); the bound TCP address, null on a socket.
   */
  Future<HostPort> listenHttp(int publicPort, int listenPort, SocketAddress socket, ServePort config,
      KeyCertOptions keyCert) {
    HttpPort port = new HttpPort(vertx, publicPort, options, metrics, options.getGates(), gateState);
    httpPorts.put(publicPort, port);
    HttpServer server = vertx.createHttpServer(ListenerOptions.http(options, listenPort, engine, keyCert))
        .requestHandler(port);
    httpServers.add(server);
    return port.prepare(config).compose(prepared -> {
      prepared.commit();
      return socket != null ? server.listen(socket).map(s -> (HostPort) null)
          : server.listen().map(s -> new HostPort(options.getBindHost(), s.actualPort()));
    });
  }

  /** A {@code tls-terminated-tcp://} port, bound as {@link #listenHttp} is. */
  Future<HostPort> listenTcp(int publicPort, int listenPort, SocketAddress socket, ServeTarget target,
      KeyCertOptions keyCert) {
    TcpForwarder forwarder = new TcpForwarder(vertx, publicPort, target, options, metrics,
        PortLogs.outages(gateState, publicPort, target, "closing client connections"),
        PortLogs.refusals(gateState, publicPort));
    tcpForwarders.add(forwarder);
    NetServer server = vertx.createNetServer(ListenerOptions.tcp(options, listenPort, engine, keyCert))
        .connectHandler(forwarder);
    netServers.add(server);
    return socket != null ? server.listen(socket).map(s -> (HostPort) null)
        : server.listen().map(s -> new HostPort(options.getBindHost(), s.actualPort()));
  }

  /**
   * Replaces what HTTP port {@code publicPort} serves on every loop in {@code everyLoop}, all or
   * nothing: every loop's router is built first, then all are swapped; if one cannot be built (a
   * gate that cannot be set up) none is, and the future fails with the reason. Fails for a port not
   * served over HTTP.
   */
  static Future<Void> updateRoutes(List<PortListeners> everyLoop, int publicPort, ServePort config) {
    List<Future<HttpPort.Prepared>> prepared = new ArrayList<>();
    for (PortListeners l : everyLoop) {
      prepared.add(l.onLoop(() -> {
        HttpPort port = l.httpPort(publicPort);
        return port == null
            ? Future.failedFuture(new IllegalArgumentException("this terminator serves no HTTP port " + publicPort))
            : port.prepare(config);
      }));
    }
    return Future.all(prepared).compose(ok -> {
      List<Future<Void>> committed = new ArrayList<>();
      for (int i = 0; i < everyLoop.size(); i++) {
        HttpPort.Prepared p = prepared.get(i).result();
        committed.add(everyLoop.get(i).onLoop(() -> {
          p.commit();
          return Future.succeededFuture();
        }));
      }
      return Future.all(committed).mapEmpty();
    });
  }

  /** {@link #shutdownHttp(long)} on every loop in {@code everyLoop}. */
  static Future<Void> shutdownHttp(List<PortListeners> everyLoop, long millis) {
    return Future.join(everyLoop.stream().map(l -> l.onLoop(() -> l.shutdownHttp(millis))).toList()).mapEmpty();
  }

  /** HTTP port {@code publicPort}'s router holder, or null when it is not an HTTP port here. */
  HttpPort httpPort(int publicPort) {
    return httpPorts.get(publicPort);
  }

  /** Every listener's certificate swapped; new handshakes use it, open connections keep theirs. */
  Future<Void> updateKeyCert(KeyCertOptions keyCert) {
    List<Future<Boolean>> updates = new ArrayList<>();
    for (HttpServer server : httpServers) {
      updates.add(server.updateSSLOptions(ListenerOptions.ssl(options, keyCert, true), true));
    }
    for (NetServer server : netServers) {
      updates.add(server.updateSSLOptions(ListenerOptions.ssl(options, keyCert, false), true));
    }
    return Future.all(updates).mapEmpty();
  }

  /** The HTTP listeners stop accepting, their connections end as they finish, the rest at {@code millis}. */
  Future<Void> shutdownHttp(long millis) {
    return Future.join(httpServers.stream()
        .map(server -> server.shutdown(millis, TimeUnit.MILLISECONDS)).toList()).mapEmpty();
  }

  /** Runs {@code work} on this instance's event loop. */
  private <T> Future<T> onLoop(Supplier<Future<T>> work) {
    Promise<T> promise = Promise.promise();
    loop.runOnContext(v -> work.get().onComplete(promise));
    return promise.future();
  }

  /** Every listener, router and backend client closed. */
  Future<?> close() {
    List<Future<?>> closing = new ArrayList<>();
    httpServers.forEach(s -> closing.add(s.close()));
    netServers.forEach(s -> closing.add(s.close()));
    httpPorts.values().forEach(p -> closing.add(p.close()));
    tcpForwarders.forEach(f -> closing.add(f.client().close()));
    return Future.join(closing);
  }
}
