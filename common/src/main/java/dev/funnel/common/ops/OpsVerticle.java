package dev.funnel.common.ops;

import dev.funnel.common.net.HostPort;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.micrometer.backends.BackendRegistries;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The operator's endpoint every Funnel process exposes on {@code --metrics-listen}:
 * {@code /metrics} (Prometheus), {@code /health} (liveness: the process and what it depends on
 * work) and {@code /ready} (listeners bound, cluster joined, session up: traffic may come).
 *
 * <p>Deploy it first, before the listeners it reports on, with a readiness condition the caller
 * turns true once everything is bound: then {@code /ready} answers 503 while the process starts
 * and 200 after, and {@code /metrics} covers the start too. Each check answers within
 * {@link #CHECK_TIMEOUT_MILLIS} or counts as down. It also deploys one {@link EventLoopDelay}
 * probe per Vert.x event loop and one per data-plane loop ({@link DataLoopDelay}), as
 * {@code funnel_eventloop_delay_seconds{plane}}, and binds the open-file gauges
 * ({@code process_files_open_files}), which Vert.x's JVM metrics leave out.
 */
public final class OpsVerticle extends VerticleBase {

  private static final System.Logger LOG = System.getLogger(OpsVerticle.class.getName());

  /** A health or readiness probe that has not answered within this is down. */
  public static final long CHECK_TIMEOUT_MILLIS = 2_000;

  private final HostPort listen;
  private final Map<String, Supplier<Future<Boolean>>> healthChecks = new ConcurrentHashMap<>();
  private final Map<String, Supplier<Boolean>> readyChecks = new ConcurrentHashMap<>();
  private final Map<String, Supplier<Future<Boolean>>> readyProbes = new ConcurrentHashMap<>();
  private HttpServer server;
  private DataLoopDelay dataLoopDelay;

  public OpsVerticle(HostPort listen) {
    this.listen = listen;
  }

  /** A named liveness check: an async probe (e.g. "the store answers"). Register before deploying. */
  public OpsVerticle health(String name, Supplier<Future<Boolean>> probe) {
    healthChecks.put(name, probe);
    return this;
  }

  /** A named readiness condition (e.g. "listeners bound"). Register before deploying. */
  public OpsVerticle ready(String name, Supplier<Boolean> condition) {
    readyChecks.put(name, condition);
    return this;
  }

  /**
   * A named readiness condition that needs I/O (e.g. "the store answers"), asked on every
   * {@code /ready}. Register before deploying.
   */
  public OpsVerticle readyProbe(String name, Supplier<Future<Boolean>> probe) {
    readyProbes.put(name, probe);
    return this;
  }

  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    HealthChecks health = HealthChecks.create(vertx);
    healthChecks.forEach((name, probe) -> register(health, name, probe));
    health.register("process", promise -> promise.complete(Status.OK()));
    HealthChecks ready = HealthChecks.create(vertx);
    readyChecks.forEach((name, condition) -> ready.register(name, promise ->
        promise.complete(condition.get() ? Status.OK() : Status.KO())));
    readyProbes.forEach((name, probe) -> register(ready, name, probe));
    ready.register("process", promise -> promise.complete(Status.OK()));
    Future<?> probes = deployProbes();

    Router router = Router.router(vertx);
    router.get("/metrics").handler(PrometheusScrapingHandler.create());
    router.get("/health").handler(HealthCheckHandler.createWithHealthChecks(health));
    router.get("/ready").handler(HealthCheckHandler.createWithHealthChecks(ready));
    server = vertx.createHttpServer();
    return probes.compose(v -> server.requestHandler(router).listen(listen.port(), listen.host()))
        .onSuccess(bound -> LOG.log(System.Logger.Level.INFO, "ops endpoint on http://{0}:{1,number,#}"
            // Not the path /ready: the ready line must be the only line with that word (scripts wait for it).
            + " (/metrics, and the health and readiness checks)", listen.host(), bound.actualPort()));
  }

  @Override
  public Future<?> stop() {
    if (dataLoopDelay != null) {
      dataLoopDelay.stop();
    }
    return Future.succeededFuture();
  }

  /**
   * A probe that fails, answers false, or does not answer within {@link #CHECK_TIMEOUT_MILLIS} is
   * down (503). The timer is ours: vertx-health-check would answer a procedure timeout with 500.
   */
  private void register(HealthChecks checks, String name, Supplier<Future<Boolean>> probe) {
    checks.register(name, CHECK_TIMEOUT_MILLIS * 2, promise -> {
      long timer = vertx.setTimer(CHECK_TIMEOUT_MILLIS, id -> promise.tryComplete(
          Status.KO(new JsonObject().put("reason", "no answer within " + CHECK_TIMEOUT_MILLIS + " ms"))));
      Future<Boolean> answer;
      try {
        answer = probe.get();
      } catch (RuntimeException e) {
        answer = Future.failedFuture(e);
      }
      answer.onComplete(result -> {
        vertx.cancelTimer(timer);
        if (result.succeeded() && Boolean.TRUE.equals(result.result())) {
          promise.tryComplete(Status.OK());
        } else {
          promise.tryComplete(Status.KO(new JsonObject().put("reason", result.failed()
              ? String.valueOf(result.cause().getMessage()) : "not ready")));
        }
      });
    });
  }

  /** The event-loop delay probes and the open-file gauges, on Vert.x's registry; nothing when metrics are off. */
  private Future<?> deployProbes() {
    MeterRegistry registry = BackendRegistries.getDefaultNow();
    if (registry == null) {
      return Future.succeededFuture();
    }
    new FileDescriptorMetrics().bindTo(registry);
    dataLoopDelay = new DataLoopDelay(registry);
    dataLoopDelay.start();
    return vertx.deployVerticle(() -> new EventLoopDelay(registry),
        new DeploymentOptions().setInstances(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE));
  }
}
