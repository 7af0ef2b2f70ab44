package dev.funnel.common;

import dev.funnel.common.bus.Messages;
import dev.funnel.common.cluster.ClusterOptions;
import dev.funnel.common.cluster.FunnelCluster;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;

/**
 * Builds the {@link Vertx} every Funnel process runs on: Prometheus metrics on, and every message
 * codec registered exactly once. Vert.x's loops run on NIO even though Netty's epoll is on the class
 * path (the data plane's {@code DataPlane} uses it): Netty 4.2's epoll handler can hand a closed
 * socket's pending event to a new socket that reused its number in the same batch, and Vert.x opens
 * sockets inline (the terminator's backend connections), where Funnel cannot apply the guard the
 * data plane has ({@code StaleEventGuard}).
 */
public final class FunnelVertx {

  private FunnelVertx() {
  }

  public static VertxOptions options() {
    return new VertxOptions()
        .setPreferNativeTransport(false)
        .setMetricsOptions(new MicrometerMetricsOptions()
            .setEnabled(true)
            .setJvmMetricsEnabled(true)
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true)));
  }

  /**
   * Options for a process that runs the node's tls-terminator: {@link #options()} without Vert.x's
   * own HTTP-server and HTTP-client metrics. In Vert.x 5.0.10 the server's metrics read a new
   * connection's remote address on the transient TCP socket, before the HTTP connection exists;
   * that consumes the client address Vert.x took from the PROXY protocol header, and every request
   * then appears to come from the node agent (127.0.0.1). The client's metrics time each proxied
   * request to the backend a second time, and cost 3.5 % of the node's CPU under keep-alive HTTPS
   * load (async-profiler, the bench's HTTPS run). The terminator exports its own request metrics
   * ({@code funnel_terminator_*}).
   */
  public static VertxOptions nodeOptions() {
    VertxOptions options = options()
        .setWorkerPoolSize(NODE_WORKER_THREADS)
        .setInternalBlockingPoolSize(NODE_INTERNAL_BLOCKING_THREADS);
    ((MicrometerMetricsOptions) options.getMetricsOptions()).addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)
        .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT);
    return options;
  }

  /**
   * Worker threads of a node (Vert.x's default is 20): its blocking work is file reads, certificate
   * checks, ACME orders and the local control's requests, a few at a time. A thread once started
   * stays (stack, thread-local buffers), and a node runs on small machines.
   */
  public static final int NODE_WORKER_THREADS = 8;

  /**
   * Vert.x's own blocking pool in a node (default 20; an idle node had started 12 of them, for the
   * terminators' TLS contexts and file reads at start-up, all parked afterwards).
   */
  public static final int NODE_INTERNAL_BLOCKING_THREADS = 4;

  /** A local (non-clustered) instance, codecs registered. */
  public static Vertx local() {
    return withCodecs(Vertx.builder().with(options()).build());
  }

  /**
   * The node's instance: as {@link #local()}, but without Vert.x's HTTP-server metrics, which in
   * 5.0.10 consume the client address a PROXY header carried, so the terminator could not see it.
   */
  public static Vertx node() {
    return node(true);
  }

  /**
   * As {@link #node()}; with {@code jvmMetrics} false, without the JVM's own meters (memory, GC,
   * threads, class loading), for a node that exports no metrics ({@code funnel node} without
   * {@code --metrics-listen}): nothing would read them, and their binders load ~70 JDK management
   * classes and keep GC listeners.
   */
  public static Vertx node(boolean jvmMetrics) {
    VertxOptions options = nodeOptions();
    ((MicrometerMetricsOptions) options.getMetricsOptions()).setJvmMetricsEnabled(jvmMetrics);
    return withCodecs(Vertx.builder().with(options).build());
  }

  /**
   * A clustered instance (Hazelcast, TCP/IP join with the named members, event bus on the cluster
   * host), codecs registered; completes once this member has joined.
   */
  public static Future<FunnelCluster> clustered(ClusterOptions cluster) {
    return FunnelCluster.join(options(), cluster);
  }

  /** Registers Funnel's message codecs on a freshly built instance; returns it. */
  public static Vertx withCodecs(Vertx vertx) {
    Messages.registerCodecs(vertx.eventBus());
    return vertx;
  }
}
