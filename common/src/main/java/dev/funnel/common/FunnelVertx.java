package dev.funnel.common;

import dev.funnel.common.bus.Messages;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;

/**
 * Builds the {@link Vertx} every Funnel process runs on: Prometheus metrics on, native transport
 * preferred, and every message codec registered exactly once.
 */
public final class FunnelVertx {

  private FunnelVertx() {
  }

  public static VertxOptions options() {
    return new VertxOptions()
        .setPreferNativeTransport(true)
        .setMetricsOptions(new MicrometerMetricsOptions()
            .setEnabled(true)
            .setJvmMetricsEnabled(true)
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true)));
  }

  /** A local (non-clustered) instance, codecs registered. */
  public static Vertx local() {
    return withCodecs(Vertx.builder().with(options()).build());
  }

  /** Registers Funnel's message codecs on a freshly built instance; returns it. */
  public static Vertx withCodecs(Vertx vertx) {
    Messages.registerCodecs(vertx.eventBus());
    return vertx;
  }
}
