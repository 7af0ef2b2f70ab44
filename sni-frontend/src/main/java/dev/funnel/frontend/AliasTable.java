package dev.funnel.frontend;

import dev.funnel.common.Hostnames;
import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.VerifiedAliases;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Optional;

/**
 * The custom domains routed now, alias → the node's public name, as the registry last published
 * them ({@code ALIASES_CHANGED}, or its answer to {@code REGISTRY_ALIASES}). A name outside the base
 * domain that is not here is refused on the spot, with no registry round trip: unknown names never
 * turn into registry traffic. Replaced whole, read without a lock by every connection.
 */
final class AliasTable {

  private static final System.Logger LOG = System.getLogger(AliasTable.class.getName());
  /** Asks the registry for the set this often until one answered, then every {@link #REFRESH_MILLIS}. */
  static final long RETRY_MILLIS = 2_000;
  static final long REFRESH_MILLIS = 60_000;

  private volatile Map<String, String> targets = Map.of();
  private volatile boolean heard;
  private Vertx vertx;
  private volatile boolean closed;
  private long timer = -1;

  /**
   * Follows the registry's set: subscribes to {@link Addresses#ALIASES_CHANGED} and asks
   * {@link Addresses#REGISTRY_ALIASES} (again every {@link #RETRY_MILLIS} until a registry answers,
   * then every {@link #REFRESH_MILLIS}, in case a published change was missed). Completes once subscribed.
   */
  Future<?> listen(Vertx vertx, long timeoutMillis, String frontendId) {
    this.vertx = vertx;
    MessageConsumer<Object> changes = vertx.eventBus().consumer(Addresses.ALIASES_CHANGED, message -> {
      VerifiedAliases heardNow = decode(message.body());
      if (heardNow != null) {
        replace(heardNow);
        LOG.log(System.Logger.Level.INFO, "frontend {0}: {1} custom domains routed", frontendId, size());
      }
    });
    return changes.completion().onSuccess(v -> ask(timeoutMillis, frontendId));
  }

  private void ask(long timeoutMillis, String frontendId) {
    vertx.eventBus().request(Addresses.REGISTRY_ALIASES, "", new DeliveryOptions().setSendTimeout(timeoutMillis))
        .onComplete(answer -> {
          VerifiedAliases got = answer.succeeded() ? decode(answer.result().body()) : null;
          if (got != null) {
            replace(got);
          } else if (answer.failed()) {
            LOG.log(System.Logger.Level.DEBUG, "frontend {0}: no alias set from a registry yet ({1})", frontendId,
                answer.cause().getMessage());
          }
          if (!closed) {
            timer = vertx.setTimer(heard ? REFRESH_MILLIS : RETRY_MILLIS, id -> ask(timeoutMillis, frontendId));
          }
        });
  }

  void close() {
    closed = true;
    if (vertx != null) {
      vertx.cancelTimer(timer);
    }
  }

  private static VerifiedAliases decode(Object body) {
    return body instanceof VerifiedAliases v ? v : body instanceof JsonObject json ? VerifiedAliases.fromJson(json) : null;
  }

  void replace(VerifiedAliases aliases) {
    targets = aliases.targets();
    heard = true;
  }

  /** True once the registry has told this frontend its set at least once. */
  boolean heard() {
    return heard;
  }

  int size() {
    return targets.size();
  }

  /**
   * The node name {@code serverName} (as the client sent it) is a verified alias of; empty for any
   * other name.
   */
  Optional<String> target(String serverName) {
    Map<String, String> now = targets;
    if (now.isEmpty()) {
      return Optional.empty();
    }
    return Hostnames.normalise(serverName).map(now::get);
  }
}
