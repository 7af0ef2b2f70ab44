package dev.funnel.common.ops;

import dev.funnel.common.net.HostPort;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The operator's endpoint every Funnel process exposes on {@code --metrics-listen}:
 * {@code /metrics} (Prometheus), {@code /health} (liveness: the process and what it depends on
 * work) and {@code /ready} (listeners bound, cluster joined, session up: traffic may come).
 */
public final class OpsVerticle extends VerticleBase {

  private final HostPort listen;
  private final Map<String, Supplier<Future<Boolean>>> healthChecks = new ConcurrentHashMap<>();
  private final Map<String, Supplier<Boolean>> readyChecks = new ConcurrentHashMap<>();
  private HttpServer server;

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

  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    HealthChecks health = HealthChecks.create(vertx);
    healthChecks.forEach((name, probe) -> health.register(name, 2000, promise ->
        probe.get().onComplete(result -> promise.tryComplete(result.succeeded() && result.result()
            ? Status.OK() : Status.KO()))));
    health.register("process", promise -> promise.complete(Status.OK()));
    HealthChecks ready = HealthChecks.create(vertx);
    readyChecks.forEach((name, condition) -> ready.register(name, promise ->
        promise.complete(condition.get() ? Status.OK() : Status.KO())));
    ready.register("process", promise -> promise.complete(Status.OK()));

    Router router = Router.router(vertx);
    router.get("/metrics").handler(PrometheusScrapingHandler.create());
    router.get("/health").handler(HealthCheckHandler.createWithHealthChecks(health));
    router.get("/ready").handler(HealthCheckHandler.createWithHealthChecks(ready));
    server = vertx.createHttpServer();
    return server.requestHandler(router).listen(listen.port(), listen.host());
  }
}
