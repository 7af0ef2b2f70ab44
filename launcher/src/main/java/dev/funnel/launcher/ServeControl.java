package dev.funnel.launcher;

import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeConfig;
import dev.funnel.common.serve.ServeRoute;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * What {@link NodeControl} changes and reads: the running node's serve config ({@link NodeStack}).
 * Methods other than reads block.
 */
interface ServeControl {

  /** The node's public name. */
  String fqdn();

  /** What the node serves now. */
  ServeConfig serve();

  /** Adds {@code route} to {@code port} or replaces the route on its path; blocks until applied. */
  ServeConfig putRoute(int port, ServeRoute route);

  /** Replaces the gate rules of {@code port} ({@code path} null) or of its route on {@code path}; blocks until applied. */
  ServeConfig putPolicy(int port, String path, GatePolicy policy);

  /**
   * Stops funnelling {@code port} ({@code path} null) or its route on {@code path}; blocks until
   * applied. {@link Failure} NOT_FUNNELLED if there was none.
   */
  ServeConfig remove(int port, String path);

  /** Ports funnelled that the server does not route, with why (empty when all are routed). */
  Map<Integer, String> refused();

  /** Gate decisions so far, by route ("PORT /path") and "rule/outcome" (routes without any left out). */
  default Map<String, Map<String, Long>> decisions() {
    return Map.of();
  }

  /** What {@code funnel status} shows ({@link NodeStatus}); blocks while probing. */
  JsonObject status(boolean probe);

  /** Orders a new ACME certificate now; blocks until it is in use; returns its expiry. {@link Failure} NO_ACME. */
  String renewCertificate();

  /** A refusal with an HTTP status and a stable code; the message is shown to the user as is. */
  final class Failure extends RuntimeException {
    final int status;
    final String code;

    Failure(int status, String code, String message) {
      super(message, null, false, false);
      this.status = status;
      this.code = code;
    }
  }
}
