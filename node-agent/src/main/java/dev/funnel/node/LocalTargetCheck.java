package dev.funnel.node;

import dev.funnel.common.ops.OutageLog;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whether a route's local target accepts a TCP connection, the way the node itself reaches it:
 * {@code funnel status} asks it during a probe, and the node at its start and after a serve change,
 * so a target that is not running is named before a client finds out. Targets the node serves
 * itself (files, text, redirects) have nothing to connect to and always pass.
 */
public final class LocalTargetCheck {

  /** The node's own connect to its local target. */
  static final int CONNECT_TIMEOUT_MILLIS = 2_000;

  private final NetClient client;

  public LocalTargetCheck(Vertx vertx) {
    this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MILLIS));
  }

  /** Null when {@code target} accepted a connection (closed at once), else why not; never fails. */
  public Future<String> check(ServeTarget target) {
    if (target.host() == null || target.host().isEmpty() || target.port() <= 0) {
      return Future.succeededFuture(null);
    }
    return client.connect(target.port(), target.host())
        .map(socket -> {
          socket.close();
          return (String) null;
        })
        .recover(err -> Future.succeededFuture("cannot connect to " + target.host() + ":" + target.port() + " ("
            + OutageLog.reason(err) + ")"));
  }

  /**
   * Checks {@code targets} all at once with a client of its own (closed after); completes with
   * those that did not accept, target → why, in their order. Never fails.
   */
  public static Future<Map<ServeTarget, String>> once(Vertx vertx, Collection<ServeTarget> targets) {
    if (targets.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    LocalTargetCheck check = new LocalTargetCheck(vertx);
    return check.all(targets).andThen(done -> check.close());
  }

  /** Checks {@code targets} at once (each distinct one once); those that did not accept, target → why, in order. Never fails. */
  public Future<Map<ServeTarget, String>> all(Collection<ServeTarget> targets) {
    Map<ServeTarget, Future<String>> checks = new LinkedHashMap<>();
    targets.forEach(t -> checks.computeIfAbsent(t, this::check));
    return Future.join(new ArrayList<>(checks.values())).transform(all -> {
      Map<ServeTarget, String> failed = new LinkedHashMap<>();
      checks.forEach((target, why) -> {
        if (why.result() != null) {
          failed.put(target, why.result());
        }
      });
      return Future.succeededFuture(failed);
    });
  }

  public void close() {
    client.close();
  }
}
